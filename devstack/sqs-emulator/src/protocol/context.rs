//! Where a request came from, which region it acts in, and how queue URLs map to queues.
//!
//! Queue URLs are built from the request's `Host` header (`http://{host}/{account}/{name}`),
//! as ElasticMQ does with `node-address.host = "*"`, so one emulator serves clients on the host
//! and in containers. A queue of another region than the emulator's default is written
//! `http://{host}/queue/{region}/{account}/{name}` (LocalStack's path form), so the same name
//! in two regions has two URLs. A client that addresses the emulator as `sqs.<region>.<host>`
//! gets URLs of that form (AWS's own), and [`QueueUrlStyle::Host`] gives every client that
//! form.
//!
//! The region of a request is its SigV4 credential scope (`Credential=AKID/date/region/sqs/…`
//! in `Authorization`), else the region of a `sqs.<region>.` host, else the emulator's
//! default. A queue URL names its queue by account and name, in the region its host or path
//! names, or else the request's; a bare queue name, in the request's scope.

use std::str::FromStr;
use std::sync::Arc;

use super::query::ResponseFormat;
use crate::core::scope::is_region;
use crate::core::{ErrorKind, Queue, Result, Scope, Sqs, SqsError};

/// How queue URLs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueUrlStyle {
    /// `http://{host}/{account}/{name}`, with the host the client used (the default).
    #[default]
    Path,
    /// `http://sqs.{region}.{host}/{account}/{name}`, as AWS writes them: the region can be
    /// read from the URL. SDKs given an endpoint send their requests there whatever the URL's
    /// host, so the name need not resolve.
    Host,
}

impl FromStr for QueueUrlStyle {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "path" => Ok(Self::Path),
            "host" => Ok(Self::Host),
            other => Err(format!("unknown queue URL style {other:?} (path or host)")),
        }
    }
}

/// What the adapter needs to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `http://host[:port]` as the client addressed the emulator.
    pub base_url: String,
    /// The region and account the request acts in.
    pub scope: Scope,
    /// The emulator's default region, whose queues' path-style URLs name no region.
    pub default_region: String,
    /// How queue URLs are written.
    pub url_style: QueueUrlStyle,
    /// The request's `X-Amzn-Trace-Id` header: sent messages without an `AWSTraceHeader`
    /// system attribute get it as theirs, as SQS does for X-Ray-traced senders.
    pub trace_header: Option<String>,
    /// How a Query-protocol response is written (the `Accept` header).
    pub response_format: ResponseFormat,
    /// A fault rule asks that what this receive returns be delivered again.
    pub duplicate_delivery: bool,
}

impl RequestContext {
    /// A context for a request that arrived with this `Host` header, acting in `scope`
    /// (which is also the default region until told otherwise).
    pub fn new(host: &str, scope: Scope) -> Self {
        Self {
            base_url: format!("http://{host}"),
            default_region: scope.region.clone(),
            scope,
            url_style: QueueUrlStyle::Path,
            trace_header: None,
            response_format: ResponseFormat::Xml,
            duplicate_delivery: false,
        }
    }

    /// The URL of a queue, as this client should see it.
    pub fn queue_url(&self, queue: &Queue) -> String {
        let host = self.base_url.trim_start_matches("http://");
        let region = &queue.scope.region;
        let (account, name) = (&queue.scope.account, &queue.name);
        match (region_host(host), self.url_style) {
            (Some((_, rest)), _) => format!("http://sqs.{region}.{rest}/{account}/{name}"),
            (None, QueueUrlStyle::Host) => format!("http://sqs.{region}.{host}/{account}/{name}"),
            (None, QueueUrlStyle::Path) if *region == self.default_region => {
                format!("http://{host}/{account}/{name}")
            }
            (None, QueueUrlStyle::Path) => {
                format!("http://{host}/queue/{region}/{account}/{name}")
            }
        }
    }
}

/// The region a request names: its SigV4 credential scope, else its `sqs.<region>.` host.
pub fn request_region<'a>(authorization: Option<&'a str>, host: &'a str) -> Option<&'a str> {
    authorization
        .and_then(credential_region)
        .or_else(|| region_host(host).map(|(region, _)| region))
}

/// The region of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20261202/eu-west-1/sqs/aws4_request, SignedHeaders=…`.
fn credential_region(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    let region = credential.split('/').nth(2)?;
    is_region(region).then_some(region)
}

/// A `sqs.<region>.<rest>` host, split into its region and the rest.
fn region_host(host: &str) -> Option<(&str, &str)> {
    let rest = host.strip_prefix("sqs.")?;
    let (region, rest) = rest.split_once('.')?;
    (is_region(region) && !rest.is_empty()).then_some((region, rest))
}

/// The queue a `QueueUrl` names: its last two path segments are account and name, in the
/// region of a `sqs.<region>.` host or else the request's. A bare queue name (no scheme, no
/// slash) names a queue of the request's scope, as AWS accepts.
pub fn resolve_queue(
    sqs: &Sqs,
    context: &RequestContext,
    queue_url: Option<&str>,
) -> Result<Arc<Queue>> {
    let url = queue_url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| SqsError::missing_parameter("QueueUrl"))?;
    if !url.contains(['/', ':']) {
        return sqs.queue(&context.scope, url);
    }
    let (host, path) = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').unwrap_or((rest, "")),
        None => ("", url),
    };
    let host_region = region_host(host).map(|(region, _)| region);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., "queue", region, account, name] if is_region(region) => {
            sqs.queue(&Scope::new(*region, *account), name)
        }
        [.., account, name] => {
            let region = host_region.unwrap_or(&context.scope.region);
            sqs.queue(&Scope::new(region, *account), name)
        }
        _ => Err(SqsError::new(
            ErrorKind::InvalidAddress,
            format!("The address {url} is not valid for this endpoint."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::{ManualClock, SqsSettings};

    fn context(host: &str, region: &str) -> RequestContext {
        RequestContext::new(host, Scope::new(region, "000000000000"))
    }

    #[test]
    fn any_host_resolves_by_account_and_name() {
        let sqs = Sqs::new(SqsSettings::default(), Arc::new(ManualClock::default()));
        let scope = sqs.settings().scope();
        sqs.create_queue(&scope, "orders", &BTreeMap::new(), &BTreeMap::new())
            .unwrap();
        let here = context("localhost:9324", "us-east-1");
        for url in [
            "http://localhost:9324/000000000000/orders",
            "http://elasticmq:9324/000000000000/orders",
            "https://sqs.us-east-1.amazonaws.com/000000000000/orders/",
        ] {
            assert_eq!(
                resolve_queue(&sqs, &here, Some(url)).unwrap().name,
                "orders",
                "{url}"
            );
        }
        let resolve = |url| resolve_queue(&sqs, &here, Some(url)).map(|q| q.name.clone());
        assert_eq!(resolve("orders").unwrap(), "orders");
        assert_eq!(
            resolve("nope").unwrap_err().kind,
            ErrorKind::QueueDoesNotExist
        );
        assert_eq!(
            resolve("http://h/orders").unwrap_err().kind,
            ErrorKind::InvalidAddress
        );
        assert_eq!(
            resolve_queue(&sqs, &here, None).unwrap_err().kind,
            ErrorKind::MissingParameter
        );
        assert_eq!(
            resolve("http://h/000000000000/nope").unwrap_err().kind,
            ErrorKind::QueueDoesNotExist
        );
        // The URL's region wins over the request's; a path-style URL is in the request's.
        assert_eq!(
            resolve("http://sqs.eu-west-1.localhost:9324/000000000000/orders")
                .unwrap_err()
                .kind,
            ErrorKind::QueueDoesNotExist
        );
        let elsewhere = context("localhost:9324", "eu-west-1");
        assert!(resolve_queue(&sqs, &elsewhere, Some("orders")).is_err());
        assert!(
            resolve_queue(
                &sqs,
                &elsewhere,
                Some("http://sqs.us-east-1.localhost:9324/000000000000/orders")
            )
            .is_ok()
        );
    }

    #[test]
    fn urls_follow_the_host_header_and_the_style() {
        let sqs = Sqs::new(SqsSettings::default(), Arc::new(ManualClock::default()));
        let queue = sqs
            .create_queue(
                &Scope::new("eu-west-1", "000000000000"),
                "q",
                &BTreeMap::new(),
                &BTreeMap::new(),
            )
            .unwrap();
        assert_eq!(
            context("elasticmq:9324", "eu-west-1").queue_url(&queue),
            "http://elasticmq:9324/000000000000/q"
        );
        assert_eq!(
            context("sqs.eu-west-1.localhost:9324", "eu-west-1").queue_url(&queue),
            "http://sqs.eu-west-1.localhost:9324/000000000000/q"
        );
        // A queue outside the default region names its region in a path-style URL.
        let mut default_elsewhere = context("localhost:9324", "eu-west-1");
        default_elsewhere.default_region = "us-east-1".into();
        let url = default_elsewhere.queue_url(&queue);
        assert_eq!(url, "http://localhost:9324/queue/eu-west-1/000000000000/q");
        let from_default = context("localhost:9324", "us-east-1");
        assert_eq!(
            resolve_queue(&sqs, &from_default, Some(&url)).unwrap().name,
            "q"
        );
        let mut host_style = context("localhost:9324", "eu-west-1");
        host_style.url_style = QueueUrlStyle::Host;
        assert_eq!(
            host_style.queue_url(&queue),
            "http://sqs.eu-west-1.localhost:9324/000000000000/q"
        );
        assert_eq!("host".parse::<QueueUrlStyle>(), Ok(QueueUrlStyle::Host));
        assert!("vhost".parse::<QueueUrlStyle>().is_err());
    }

    #[test]
    fn the_region_comes_from_the_credential_scope_then_the_host() {
        let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-central-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            request_region(Some(sigv4), "sqs.us-west-2.localhost"),
            Some("eu-central-1")
        );
        assert_eq!(
            request_region(None, "sqs.us-west-2.localhost:9324"),
            Some("us-west-2")
        );
        assert_eq!(request_region(Some("Basic abc"), "localhost:9324"), None);
        assert_eq!(
            request_region(
                Some("AWS4-HMAC-SHA256 Credential=x/y/NOT A REGION/sqs"),
                "h"
            ),
            None
        );
        assert_eq!(request_region(None, "sqs.localhost"), None);
    }
}
