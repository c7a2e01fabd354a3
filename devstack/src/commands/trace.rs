//! `devstack trace (--order-id ID | --trace-id ID | --message-id ID) [--json]`: one journey
//! from the running stack's collector, through the control channel. `--json` prints the spans
//! as one JSON array (the contract of `contracts::trace::Span`); otherwise a waterfall per
//! trace: each span indented under its parent, with its service, duration and a bar placed on
//! the trace's time line; failed spans marked.

use std::collections::{BTreeMap, HashMap};

use slipway_contracts::control::Request;
use slipway_contracts::trace::{self, Span, SpanStatus, TraceQuery, WaterfallRow};

use crate::cli::TraceArgs;
use crate::paths::Paths;
use slipway_contracts::client;

/// Width of the time line, in characters.
const BAR: usize = 40;

/// Runs `devstack trace`.
pub async fn run(paths: &Paths, args: TraceArgs) -> anyhow::Result<()> {
    let query = match (args.order_id, args.trace_id, args.message_id) {
        (Some(id), _, _) => TraceQuery::OrderId(id),
        (_, Some(id), _) => TraceQuery::TraceId(id.to_ascii_lowercase()),
        (_, _, Some(id)) => TraceQuery::MessageId(id),
        _ => anyhow::bail!("say which journey: --order-id, --trace-id or --message-id"),
    };
    let response = client::carried_out(&paths.control_socket(), &Request::Trace { query }).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response.spans)?);
    } else if response.spans.is_empty() {
        println!(
            "no spans found (the collector keeps the latest; see `[telemetry]` in devstack.toml)"
        );
    } else {
        print!("{}", waterfall(&response.spans));
    }
    Ok(())
}

/// The spans drawn as one waterfall per trace.
pub fn waterfall(spans: &[Span]) -> String {
    let mut traces: BTreeMap<(u64, &str), Vec<&Span>> = BTreeMap::new();
    let mut first_start: HashMap<&str, u64> = HashMap::new();
    for span in spans {
        let start = first_start.entry(&span.trace_id).or_insert(u64::MAX);
        *start = (*start).min(span.start_unix_nano);
    }
    for span in spans {
        traces
            .entry((first_start[span.trace_id.as_str()], &span.trace_id))
            .or_default()
            .push(span);
    }
    traces
        .into_iter()
        .map(|((_, id), spans)| one_trace(id, &spans))
        .collect()
}

fn one_trace(id: &str, spans: &[&Span]) -> String {
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let mut out = format!(
        "trace {id}  {} spans  {}\n",
        spans.len(),
        duration(end.saturating_sub(start))
    );
    let owned: Vec<Span> = spans.iter().map(|s| (*s).clone()).collect();
    for row in trace::waterfall(&owned) {
        out.push_str(&line(&owned[row.index], row));
    }
    out
}

fn line(span: &Span, row: WaterfallRow) -> String {
    let from = ((row.offset * BAR as f64) as usize).min(BAR - 1);
    let width = ((row.width * BAR as f64) as usize).clamp(1, BAR - from);
    let bar = format!("{}{}", " ".repeat(from), span.bar_glyph().repeat(width));
    let failed = if span.status == SpanStatus::Error {
        format!(
            "  ERROR {}",
            span.status_message.as_deref().unwrap_or_default()
        )
    } else {
        String::new()
    };
    let redelivery = span
        .redelivery()
        .map(|n| format!(" (redelivery {n})"))
        .unwrap_or_default();
    let name = format!("{}{}{redelivery}", "  ".repeat(row.depth), span.name);
    format!(
        "  {name:<44} {:<10} {:>9}  |{bar:<BAR$}|{failed}\n",
        span.service,
        duration(span.duration_nanos())
    )
}

/// `850µs`, `12.3ms`, `1.52s`.
fn duration(nanos: u64) -> String {
    let micros = nanos / 1_000;
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2}s", micros as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use slipway_contracts::trace::SpanKind;

    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str, start: u64, end: u64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(String::from),
            name: name.into(),
            service: "service".into(),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: end,
            status: if name == "process" {
                SpanStatus::Error
            } else {
                SpanStatus::Unset
            },
            status_message: None,
            links: Vec::new(),
            attributes: serde_json::Map::new(),
        }
    }

    #[test]
    fn children_are_indented_under_their_parent_and_bars_follow_time() {
        let spans = [
            span("a", None, "POST /v1/orders", 0, 4_000_000),
            span("b", Some("a"), "orders send", 1_000_000, 2_000_000),
            span("c", Some("b"), "process", 2_000_000, 4_000_000),
            span("d", Some("gone"), "orphan", 3_000_000, 4_000_000),
        ];
        let text = waterfall(&spans);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("trace t  4 spans  4.0ms"), "{text}");
        assert!(lines[1].starts_with("  POST /v1/orders"), "{text}");
        assert!(lines[2].starts_with("    orders send"), "{text}");
        assert!(lines[3].starts_with("      process"), "{text}");
        assert!(lines[3].contains("ERROR"), "{text}");
        assert!(
            lines[4].starts_with("  orphan"),
            "a lost parent draws a root: {text}"
        );
        let bar = |line: &str| line.split('|').nth(1).unwrap().to_string();
        assert_eq!(
            bar(lines[1]).trim_end().chars().count(),
            BAR,
            "the root spans it all"
        );
        assert_eq!(
            bar(lines[3]).chars().take_while(|c| *c == ' ').count(),
            BAR / 2
        );
        assert_eq!(duration(850_000), "850µs");
    }

    #[test]
    fn the_queues_part_is_drawn_as_waiting_and_in_flight() {
        let mut spans = [
            span("a", None, "send orders", 0, 1_000_000),
            span("w", Some("a"), "orders wait", 1_000_000, 2_000_000),
            span("f", Some("a"), "orders in flight", 2_000_000, 4_000_000),
        ];
        let phase = |span: &mut Span, phase: &str, receives: u64| {
            span.attributes
                .insert(trace::QUEUE_PHASE.into(), phase.into());
            span.attributes
                .insert(trace::RECEIVE_COUNT.into(), receives.into());
        };
        phase(&mut spans[1], "waiting", 1);
        phase(&mut spans[2], "in_flight", 2);
        let text = waterfall(&spans);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].contains('░') && !lines[2].contains('█'), "{text}");
        assert!(lines[3].contains('▓'), "{text}");
        assert!(
            lines[3].contains("orders in flight (redelivery 2)"),
            "{text}"
        );
        assert_eq!(duration(1_520_000_000), "1.52s");
    }
}
