//! How secrets look outside a process: a URL's password becomes `***` wherever a URL is logged
//! or shown (service logs, `devstack status`, error messages). One rule, shared by every crate.

/// The URL with any password replaced by `***`; URLs without one are returned unchanged.
pub fn url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn passwords_are_masked_and_nothing_else_changes() {
        assert_eq!(
            url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            url("redis://:hunter2@cache:6379"),
            "redis://:***@cache:6379"
        );
        assert_eq!(url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(url("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(url("not a url"), "not a url");
    }
}
