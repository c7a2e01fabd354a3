#!/usr/bin/env python3
"""Drive the SQS emulator with independent, third-party clients: boto3 and the AWS CLI.

Starts `devstack sqs --port 0` (the binary path is the first argument), then checks
send/receive/delete, batches, attributes with MD5s recomputed here in Python, DLQ redrive and a
message move task with boto3, and a send/receive/delete round trip with the AWS CLI.
Ends with a line `N passed, N failed`; exits non-zero when anything failed.

Run it with a current boto3 (the JSON protocol) and again with boto3 1.26 (botocore 1.29, the
Query protocol, from requirements-query.txt; SLIPWAY_SKIP_CLI=1 as that environment has no
AWS CLI): .ci/run does both.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time
import traceback
import urllib.request

import boto3
import botocore
import botocore.config

RESULTS = []


def check(name):
    def wrap(fn):
        def run(*args):
            try:
                fn(*args)
                RESULTS.append((name, None))
                print(f"ok    {name}")
            except Exception as exc:  # report every failure, keep going
                RESULTS.append((name, exc))
                print(f"FAIL  {name}: {exc!r}")
                traceback.print_exc()
        return run
    return wrap


def md5_of_attributes(attributes):
    """AWS's documented MD5OfMessageAttributes encoding, written independently of the emulator."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        for field in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(field)) + field)
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            digest.update(b"\x02" + struct.pack(">I", len(raw)) + raw)
        else:
            raw = value["StringValue"].encode()
            digest.update(b"\x01" + struct.pack(">I", len(raw)) + raw)
    return digest.hexdigest()


def system_attributes(sqs):
    """Older botocore (the Query protocol) predates MessageSystemAttributeNames."""
    if "MessageSystemAttributeNames" in sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members:
        return {"MessageSystemAttributeNames": ["All"]}
    return {"AttributeNames": ["All"]}


def start_emulator(binary):
    proc = subprocess.Popen([binary, "sqs", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the emulator did not start")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} PATH/TO/devstack")
    proc, endpoint = start_emulator(sys.argv[1])
    print(f"emulator at {endpoint}; boto3 {boto3.__version__}, botocore {botocore.__version__}")
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    sqs = session.client("sqs", endpoint_url=endpoint)
    print(f"botocore speaks the {sqs.meta.service_model.protocol!r} protocol to SQS")
    try:
        run_boto3_checks(sqs)
        if os.environ.get("SLIPWAY_SKIP_CLI"):
            print("AWS CLI checks skipped (SLIPWAY_SKIP_CLI)")
        else:
            run_cli_checks(endpoint)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    failed = sum(1 for _, exc in RESULTS if exc is not None)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run_boto3_checks(sqs):
    @check("boto3: send, receive, delete with attributes and MD5s")
    def send_receive_delete():
        url = sqs.create_queue(QueueName="b3-basic")["QueueUrl"]
        attributes = {
            "customer": {"DataType": "String", "StringValue": "c-42"},
            "cents": {"DataType": "Number", "StringValue": "1250"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
            "tagged": {"DataType": "String.custom", "StringValue": "ü ✓"},
        }
        sent = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attributes)
        assert sent["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest(), sent
        assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes), sent
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
        assert len(got) == 1
        message = got[0]
        assert message["Body"] == "héllo"
        assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
        assert message["MD5OfMessageAttributes"] == md5_of_attributes(message["MessageAttributes"])
        assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\xff"
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert depth["ApproximateNumberOfMessages"] == "0" and depth["ApproximateNumberOfMessagesNotVisible"] == "0", depth

    @check("boto3: batches of 10, per-entry failures")
    def batches():
        url = sqs.create_queue(QueueName="b3-batch")["QueueUrl"]
        entries = [{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(10)]
        entries[4]["MessageBody"] = "bad \x01"
        out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert len(out["Successful"]) == 9 and out["Failed"][0]["Id"] == "e4", out
        assert out["Failed"][0]["Code"] == "InvalidMessageContents", out
        for ok in out["Successful"]:
            index = int(ok["Id"][1:])
            assert ok["MD5OfMessageBody"] == hashlib.md5(f"m{index}".encode()).hexdigest()
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len(received) == 9
        deleted = sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
        )
        assert len(deleted["Successful"]) == 9 and not deleted.get("Failed"), deleted
        try:
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)])
            raise AssertionError("11 entries accepted")
        except sqs.exceptions.TooManyEntriesInBatchRequest as err:
            assert err.response["Error"]["Message"] == "Maximum number of entries per request are 10. You have sent 11."

    @check("boto3: errors carry AWS codes")
    def errors():
        try:
            sqs.get_queue_url(QueueName="does-not-exist")
            raise AssertionError("no error")
        except sqs.exceptions.QueueDoesNotExist as err:
            assert err.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue", err.response
        try:
            sqs.receive_message(QueueUrl=sqs.create_queue(QueueName="b3-err")["QueueUrl"], WaitTimeSeconds=21)
            raise AssertionError("no error")
        except botocore.exceptions.ClientError as err:
            assert err.response["Error"]["Code"] == "InvalidParameterValue", err.response

    @check("boto3: visibility timeout and ChangeMessageVisibility")
    def visibility():
        url = sqs.create_queue(QueueName="b3-vis", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="v")
        first = sqs.receive_message(QueueUrl=url)["Messages"][0]
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
        second = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert second["Attributes"]["ApproximateReceiveCount"] == "2"

    @check("boto3: DLQ redrive after maxReceiveCount, then a message move task back")
    def dead_letters():
        dlq_url = sqs.create_queue(QueueName="b3-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
        url = sqs.create_queue(QueueName="b3-src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        src_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]
        for i in range(4):
            sqs.send_message(QueueUrl=url, MessageBody=f"poison {i}")
        for _ in range(2):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            assert len(got["Messages"]) == 4
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        dead = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, **system_attributes(sqs)
        )["Messages"]
        assert len(dead) == 4
        assert all(m["Attributes"]["DeadLetterQueueSourceArn"] == src_arn for m in dead)
        handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
        assert handle
        for _ in range(100):
            task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
            if task["Status"] != "RUNNING":
                break
            time.sleep(0.05)
        assert task["Status"] == "COMPLETED", task
        assert task["ApproximateNumberOfMessagesMoved"] == 4, task
        back = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        assert back["ApproximateNumberOfMessages"] == "4", back

    @check("boto3: FIFO order and deduplication")
    def fifo():
        url = sqs.create_queue(QueueName="b3.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        ids = [sqs.send_message(QueueUrl=url, MessageBody=b, MessageGroupId="g")["MessageId"] for b in ("1", "2", "1")]
        assert ids[0] == ids[2] and ids[0] != ids[1]
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in got] == ["1", "2"]

    @check("boto3: the same queue name in two regions is two queues")
    def regions():
        endpoint = sqs.meta.endpoint_url
        west = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1"
        ).client("sqs", endpoint_url=endpoint)
        east_url = sqs.create_queue(QueueName="b3-regional")["QueueUrl"]
        west_url = west.create_queue(QueueName="b3-regional")["QueueUrl"]
        assert east_url != west_url, (east_url, west_url)
        arn = lambda client, url: client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn(west, west_url) == "arn:aws:sqs:eu-west-1:000000000000:b3-regional"
        assert arn(sqs, east_url) == "arn:aws:sqs:us-east-1:000000000000:b3-regional"
        west.send_message(QueueUrl=west_url, MessageBody="west")
        assert "Messages" not in sqs.receive_message(QueueUrl=east_url)
        assert [m["Body"] for m in west.receive_message(QueueUrl=west_url)["Messages"]] == ["west"]
        assert west.get_queue_url(QueueName="b3-regional")["QueueUrl"] == west_url
        assert west_url in west.list_queues(QueueNamePrefix="b3-regional")["QueueUrls"]
        assert west_url not in sqs.list_queues(QueueNamePrefix="b3-regional")["QueueUrls"]

    @check("boto3: high-throughput FIFO deduplicates per message group")
    def high_throughput_fifo():
        url = sqs.create_queue(
            QueueName="b3-ht.fifo",
            Attributes={"FifoQueue": "True", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"},
        )["QueueUrl"]
        for group in ("a", "b", "a"):
            sqs.send_message(QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="same")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in got) == ["a", "b"], got
        try:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"})
            raise AssertionError("queue-wide deduplication with per-group throughput was accepted")
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] in ("InvalidAttributeValue",), error.response

    def slipway(method, path, body=None):
        request = urllib.request.Request(
            sqs.meta.endpoint_url + path, method=method,
            data=None if body is None else json.dumps(body).encode(), headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    @check("boto3: a fault rule's error reaches the client with its code")
    def fault_rule():
        url = sqs.create_queue(QueueName="b3-faulty")["QueueUrl"]
        once = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").client(
            "sqs", endpoint_url=sqs.meta.endpoint_url,
            config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        slipway("POST", "/_slipway/faults", {"actions": ["SendMessage"], "queue": "b3-faulty",
                                             "error": {"code": "ThrottlingException"}, "count": 1})
        try:
            once.send_message(QueueUrl=url, MessageBody="x")
            raise AssertionError("the fault did not fire")
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException", error.response
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, error.response
        once.send_message(QueueUrl=url, MessageBody="x")  # the rule ran out
        assert slipway("GET", "/_slipway/faults") == []

    @check("boto3: the virtual clock ends a visibility timeout")
    def clock():
        url = sqs.create_queue(QueueName="b3-clock", Attributes={"VisibilityTimeout": "3600"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="later")
        assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
        reading = slipway("POST", "/_slipway/clock/advance", {"seconds": 3600})
        assert reading["offset_ms"] >= 3_600_000, reading
        again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert again["Attributes"]["ApproximateReceiveCount"] == "2", again

    for test in (send_receive_delete, batches, errors, visibility, dead_letters, fifo, regions, high_throughput_fifo,
                 fault_rule, clock):
        test()


def run_cli_checks(endpoint):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")

    def aws(*args):
        out = subprocess.run(
            ["aws", "--endpoint-url", endpoint, "--output", "json", "sqs", *args], env=env, capture_output=True, text=True, timeout=60
        )
        if out.returncode != 0:
            raise AssertionError(f"aws sqs {' '.join(args)} failed: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    @check("aws cli: create-queue, send-message, receive-message, delete-message")
    def cli_round_trip():
        url = aws("create-queue", "--queue-name", "cli-q")["QueueUrl"]
        sent = aws("send-message", "--queue-url", url, "--message-body", "from the cli",
                   "--message-attributes", '{"k":{"DataType":"String","StringValue":"v"}}')
        assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()
        assert sent["MD5OfMessageAttributes"] == md5_of_attributes({"k": {"DataType": "String", "StringValue": "v"}})
        got = aws("receive-message", "--queue-url", url, "--message-attribute-names", "All")["Messages"][0]
        assert got["Body"] == "from the cli" and got["MessageAttributes"]["k"]["StringValue"] == "v"
        aws("delete-message", "--queue-url", url, "--receipt-handle", got["ReceiptHandle"])
        attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
        listed = aws("list-queues")["QueueUrls"]
        assert url in listed

    cli_round_trip()


if __name__ == "__main__":
    main()
