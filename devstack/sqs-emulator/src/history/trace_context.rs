//! The trace a message belongs to, read from the context it carries: a W3C `traceparent`
//! (`00-<trace id>-<parent span id>-<flags>`) or an X-Ray `AWSTraceHeader`
//! (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1`, whose root is a W3C trace id split in
//! two, as OpenTelemetry's X-Ray propagator reads it).
//!
//! Parsed by hand: the two formats are a few fields each, and the emulator has no
//! OpenTelemetry dependency to lend a propagator.

/// A sender's span context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace.
    pub trace_id: [u8; 16],
    /// The sender's span (the parent of the queue's spans).
    pub parent_span_id: [u8; 8],
    /// Whether the sender records this trace.
    pub sampled: bool,
}

impl TraceContext {
    /// Reads either format; `None` when `carrier` is neither or names the all-zero ids.
    pub fn parse(carrier: &str) -> Option<Self> {
        let context = if carrier.contains("Root=") {
            Self::from_xray(carrier)?
        } else {
            Self::from_traceparent(carrier)?
        };
        let valid = context.trace_id != [0; 16] && context.parent_span_id != [0; 8];
        valid.then_some(context)
    }

    fn from_traceparent(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four fields; later versions may add some after them.
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let flags = hex_array::<1>(flags)?[0];
        Some(Self {
            trace_id: hex_array(trace)?,
            parent_span_id: hex_array(parent)?,
            sampled: flags & 1 == 1,
        })
    }

    fn from_xray(value: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, true);
        for field in value.split(';') {
            match field.trim().split_once('=') {
                Some(("Root", v)) => root = Some(v),
                Some(("Parent", v)) => parent = Some(v),
                Some(("Sampled", v)) => sampled = v != "0",
                _ => {}
            }
        }
        let mut root = root?.split('-');
        let (version, epoch, unique) = (root.next()?, root.next()?, root.next()?);
        if version != "1" || epoch.len() != 8 || unique.len() != 24 || root.next().is_some() {
            return None;
        }
        Some(Self {
            trace_id: hex_array(&format!("{epoch}{unique}"))?,
            parent_span_id: hex_array(parent?)?,
            sampled,
        })
    }
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_w3c_traceparent() {
        let context =
            TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        let context = context.expect("valid");
        assert_eq!(
            hex::encode(context.trace_id),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(hex::encode(context.parent_span_id), "b7ad6b7169203331");
        assert!(context.sampled);
        let unsampled =
            TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
        assert_eq!(unsampled.map(|c| c.sampled), Some(false));
    }

    #[test]
    fn reads_an_xray_header_as_opentelemetry_does() {
        let context = TraceContext::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .expect("valid");
        assert_eq!(
            hex::encode(context.trace_id),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(hex::encode(context.parent_span_id), "53995c3f42cd8ad8");
        let unsampled = TraceContext::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        );
        assert_eq!(unsampled.map(|c| c.sampled), Some(false));
    }

    #[test]
    fn refuses_what_is_neither() {
        for bad in [
            "",
            "garbage",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad:?}");
        }
    }
}
