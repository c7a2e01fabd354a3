//! Where a queue lives: a region and an account ([`Scope`]). The same name in two scopes is
//! two queues, with different URLs and ARNs, as on AWS. An ARN names a queue by its scope
//! and name (`arn:aws:sqs:{region}:{account}:{name}`).

use std::fmt;

/// A region and an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// The region, as in `us-east-1`.
    pub region: String,
    /// The account id.
    pub account: String,
}

impl Scope {
    /// The scope of `account` in `region`.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            account: account.into(),
        }
    }

    /// The ARN of the queue `name` in this scope.
    pub fn arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{}:{name}", self.region, self.account)
    }

    /// The same account in another region.
    pub fn in_region(&self, region: &str) -> Self {
        Self::new(region, self.account.clone())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.account)
    }
}

/// The scope and queue name an SQS ARN names; `None` for anything else.
pub fn parse_arn(arn: &str) -> Option<(Scope, &str)> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if parts.next().is_some() || name.is_empty() {
        return None;
    }
    Some((Scope::new(region, account), name))
}

/// Whether `text` has the form of an AWS region name (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`): lowercase letters, digits and hyphens, starting with a letter, with at
/// least one hyphen, at most 32 characters.
pub fn is_region(text: &str) -> bool {
    (3..=32).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.contains('-')
        && !text.ends_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_scope_and_queue() {
        let scope = Scope::new("eu-west-1", "123456789012");
        let arn = scope.arn("orders");
        assert_eq!(arn, "arn:aws:sqs:eu-west-1:123456789012:orders");
        assert_eq!(parse_arn(&arn), Some((scope, "orders")));
        assert_eq!(parse_arn("arn:aws:sns:eu-west-1:1:orders"), None);
        assert_eq!(parse_arn("arn:aws:sqs:eu-west-1:1:orders:extra"), None);
        assert_eq!(parse_arn("arn:aws:sqs:eu-west-1:1:"), None);
        assert_eq!(parse_arn("orders"), None);
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "localhost",
            "US-EAST-1",
            "us_east_1",
            "-us",
            "us-",
            "1a-b",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
