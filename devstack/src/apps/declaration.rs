//! An `[[apps]]` table of `devstack.toml`:
//!
//! ```toml
//! [[apps]]
//! name = "echo"                                   # becomes ECHO_URL in .devstack/env
//! command = ["python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1"]
//! port = 0                                        # 0: a free port, handed to the app as PORT
//! health = "/"                                    # polled until it answers 200
//! env = { GREETING = "hi", DB = "${DATABASE_URL}" }   # ${NAME}: any setting of the stack
//! depends_on = ["postgres"]
//! build = ["cargo", "build", "-p", "x"]           # run before the first start
//! setup = ["./migrate.sh"]                        # run before every start (migrations)
//! watch = ["x/src"]                               # for reload on save
//! ```
//!
//! When the file declares `[[apps]]`, those are the stack's apps; when it declares none, the
//! orders service is ([`default_apps`]). Unknown keys, unknown dependencies, cycles and
//! `${NAME}`s that nothing provides are refused with the line of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::template;

/// The infrastructure components an app may depend on.
pub const INFRASTRUCTURE: [&str; 3] = ["postgres", "redis", "sqs"];

/// The settings the infrastructure provides to apps (`${NAME}`).
pub const SETTINGS: [&str; 8] = [
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "SQS_QUEUE_URL",
    "SQS_DLQ_URL",
];

/// One `[[apps]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDeclaration {
    /// Its name: `[a-z0-9_-]`, not an infrastructure component's. `<NAME>_URL` is its URL.
    pub name: Spanned<String>,
    /// The program and its arguments (`${NAME}` allowed).
    pub command: Spanned<Vec<String>>,
    /// Its port on 127.0.0.1 (0: a free one), handed to it as `PORT`.
    #[serde(default)]
    pub port: u16,
    /// An HTTP path polled until it answers 200; without it the app is ready once its port
    /// accepts connections.
    #[serde(default)]
    pub health: Option<String>,
    /// Its environment (`${NAME}` allowed); it gets this and `PORT`, nothing else of the stack.
    #[serde(default = "no_env")]
    pub env: Spanned<BTreeMap<String, String>>,
    /// Components and apps started before it.
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    /// A command that builds it, run before its first start (and on a change, with `--watch`).
    #[serde(default)]
    pub build: Vec<String>,
    /// A command run before every start (migrations).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Paths whose changes rebuild and replace it with `--watch`.
    #[serde(default)]
    pub watch: Vec<String>,
    /// How a reload replaces it: `stop-first` (default: any app can) or `start-first` (the
    /// new process starts beside the old one, which then drains: the app must bind its port
    /// with `SO_REUSEPORT`, as the orders service does with `HTTP_REUSE_PORT=true`).
    #[serde(default)]
    pub reload: ReloadOrder,
}

/// How a reload replaces a running app (compose's `update_config.order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReloadOrder {
    /// Stop the old process (it drains), then start the new one.
    #[default]
    StopFirst,
    /// Start the new process beside the old one on the same port; once it is ready, the old
    /// one drains: the app answers throughout.
    StartFirst,
}

fn no_env() -> Spanned<BTreeMap<String, String>> {
    Spanned::new(0..0, BTreeMap::new())
}

impl AppDeclaration {
    /// Its name.
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// The setting that holds its URL: `ECHO_URL` for `echo`, `MY_API_URL` for `my-api`.
    pub fn url_setting(&self) -> String {
        url_setting(self.name())
    }

    /// Its dependencies' names.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.depends_on.iter().map(|d| d.get_ref().as_str())
    }
}

/// `<NAME>_URL`.
pub fn url_setting(name: &str) -> String {
    format!("{}_URL", name.to_ascii_uppercase().replace('-', "_"))
}

/// The apps of a `devstack.toml` that declares none: the orders service, built with cargo
/// from `workspace` and run from its target directory on `port` (0: a free one).
pub fn default_apps(workspace: &Path, port: u16) -> Vec<AppDeclaration> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), std::path::PathBuf::from);
    let mut service = service_app(&target.join("debug").join("service"), port);
    service.build = vec![
        cargo,
        "build".into(),
        "-q".into(),
        "-p".into(),
        "service".into(),
    ];
    vec![service]
}

/// The orders service as an app: `binary serve` on `port` with the stack's settings, its
/// migrations as setup, `/health`, replaced start-first on a reload. Not built (`build` is
/// empty): [`default_apps`] adds cargo's build; a test passes the binary it has.
pub fn service_app(binary: &Path, port: u16) -> AppDeclaration {
    let binary = binary.display().to_string();
    let mut env: BTreeMap<String, String> = SETTINGS
        .iter()
        .map(|name| ((*name).to_string(), format!("${{{name}}}")))
        .collect();
    env.insert("HTTP_ADDR".into(), "127.0.0.1:${PORT}".into());
    // A reload starts the new build beside the old one on the same port.
    env.insert("HTTP_REUSE_PORT".into(), "true".into());
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("NO_COLOR".into(), "1".into());
    AppDeclaration {
        name: Spanned::new(0..0, "service".into()),
        command: Spanned::new(0..0, vec![binary.clone(), "serve".into()]),
        port,
        health: Some("/health".into()),
        env: Spanned::new(0..0, env),
        depends_on: INFRASTRUCTURE
            .iter()
            .map(|c| Spanned::new(0..0, (*c).to_string()))
            .collect(),
        build: Vec::new(),
        setup: vec![binary, "migrate".into()],
        watch: ["service", "contracts", "Cargo.toml", "Cargo.lock"]
            .map(String::from)
            .to_vec(),
        reload: ReloadOrder::StartFirst,
    }
}

/// Checks the apps of a file whose text is `text`; the error names the line.
pub fn check(apps: &[AppDeclaration], text: &str) -> Result<(), String> {
    let at = |span: std::ops::Range<usize>| {
        let line = text[..span.start.min(text.len())].lines().count().max(1);
        format!("line {line}")
    };
    let mut names = BTreeSet::new();
    for app in apps {
        let name = app.name();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid || INFRASTRUCTURE.contains(&name) || !names.insert(name) {
            return Err(format!(
                "{}: app name `{name}` must be unique, of a-z 0-9 - _, and not {}",
                at(app.name.span()),
                INFRASTRUCTURE.join(", ")
            ));
        }
        if app.command.get_ref().is_empty() {
            return Err(format!(
                "{}: app `{name}` has an empty command",
                at(app.command.span())
            ));
        }
    }
    for app in apps {
        for dependency in &app.depends_on {
            let d = dependency.get_ref().as_str();
            if !INFRASTRUCTURE.contains(&d) && !names.contains(d) {
                return Err(format!(
                    "{}: app `{}` depends on `{d}`, which is neither a component ({}) nor a declared app",
                    at(dependency.span()),
                    app.name(),
                    INFRASTRUCTURE.join(", ")
                ));
            }
        }
        check_settings(app, apps, &at)?;
    }
    start_order(apps).map(|_| ()).map_err(|cycle| {
        let first = apps.iter().find(|a| a.name() == cycle[0]);
        let line = first.map_or_else(String::new, |a| format!("{}: ", at(a.name.span())));
        format!(
            "{line}apps depend on each other in a cycle: {}",
            cycle.join(" → ")
        )
    })
}

/// Every `${NAME}` of an app must be provided: a setting, `PORT`, or the URL of an app it
/// depends on.
fn check_settings(
    app: &AppDeclaration,
    apps: &[AppDeclaration],
    at: &dyn Fn(std::ops::Range<usize>) -> String,
) -> Result<(), String> {
    let mut provided: BTreeSet<String> = SETTINGS.iter().map(|s| (*s).to_string()).collect();
    provided.insert("PORT".into());
    provided.extend(
        apps.iter()
            .filter(|other| app.dependencies().any(|d| d == other.name()))
            .map(AppDeclaration::url_setting),
    );
    let texts = app
        .command
        .get_ref()
        .iter()
        .map(|t| (t, app.command.span()))
        .chain(app.env.get_ref().values().map(|t| (t, app.env.span())));
    for (text, span) in texts {
        if let Some(name) = template::names(text)
            .into_iter()
            .find(|n| !provided.contains(*n))
        {
            return Err(format!(
                "{}: app `{}` uses ${{{name}}}, which no component provides (an app's URL needs it in depends_on)",
                at(span),
                app.name()
            ));
        }
    }
    Ok(())
}

/// The apps in an order where each comes after what it depends on; a cycle is the error.
pub fn start_order(apps: &[AppDeclaration]) -> Result<Vec<&AppDeclaration>, Vec<String>> {
    let mut order: Vec<&AppDeclaration> = Vec::new();
    let mut visiting: Vec<String> = Vec::new();
    fn visit<'a>(
        app: &'a AppDeclaration,
        apps: &'a [AppDeclaration],
        order: &mut Vec<&'a AppDeclaration>,
        visiting: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        if order.iter().any(|a| a.name() == app.name()) {
            return Ok(());
        }
        if let Some(at) = visiting.iter().position(|n| n == app.name()) {
            let mut cycle = visiting[at..].to_vec();
            cycle.push(app.name().to_string());
            return Err(cycle);
        }
        visiting.push(app.name().to_string());
        for dependency in app.dependencies() {
            if let Some(next) = apps.iter().find(|a| a.name() == dependency) {
                visit(next, apps, order, visiting)?;
            }
        }
        visiting.pop();
        order.push(app);
        Ok(())
    }
    for app in apps {
        visit(app, apps, &mut order, &mut visiting)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        apps: Vec<AppDeclaration>,
    }

    fn parse(text: &str) -> Result<Vec<AppDeclaration>, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        check(&file.apps, text)?;
        Ok(file.apps)
    }

    const ECHO: &str = r#"
[[apps]]
name = "echo"
command = ["python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1"]
health = "/"
env = { GREETING = "hi", DB = "${DATABASE_URL}" }
depends_on = ["postgres"]
"#;

    #[test]
    fn the_issue_example_is_accepted() {
        let apps = parse(ECHO).unwrap();
        assert_eq!(apps[0].name(), "echo");
        assert_eq!(apps[0].url_setting(), "ECHO_URL");
        assert_eq!(apps[0].port, 0);
    }

    #[test]
    fn mistakes_are_refused_with_their_line() {
        let unknown_key = parse(&ECHO.replace("health", "healht")).unwrap_err();
        assert!(
            unknown_key.contains("line 5") && unknown_key.contains("healht"),
            "{unknown_key}"
        );
        let unknown_dep = parse(&ECHO.replace(r#"["postgres"]"#, r#"["mysql"]"#)).unwrap_err();
        assert!(
            unknown_dep.starts_with("line 7:") && unknown_dep.contains("mysql"),
            "{unknown_dep}"
        );
        let unknown_setting = parse(&ECHO.replace("DATABASE_URL", "DATABSE_URL")).unwrap_err();
        assert!(
            unknown_setting.starts_with("line 6:") && unknown_setting.contains("${DATABSE_URL}"),
            "{unknown_setting}"
        );
        let builtin = parse(&ECHO.replace(r#"name = "echo""#, r#"name = "redis""#)).unwrap_err();
        assert!(builtin.starts_with("line 3:"), "{builtin}");
    }

    #[test]
    fn cycles_are_refused_and_dependencies_start_first() {
        let two = r#"
[[apps]]
name = "a"
command = ["a"]
depends_on = ["b"]
[[apps]]
name = "b"
command = ["b", "${A_URL}"]
depends_on = ["a"]
"#;
        let error = parse(two).unwrap_err();
        assert!(error.contains("cycle: a → b → a"), "{error}");
        let chain = two.replace(r#"depends_on = ["a"]"#, r#"depends_on = ["redis"]"#);
        let error = parse(&chain).unwrap_err();
        assert!(
            error.contains("${A_URL}") && error.contains("depends_on"),
            "{error}"
        );
        let fine = chain.replace(r#""${A_URL}""#, r#""x""#);
        let apps = parse(&fine).unwrap();
        let order: Vec<&str> = start_order(&apps)
            .unwrap()
            .iter()
            .map(|a| a.name())
            .collect();
        assert_eq!(order, ["b", "a"]);
    }

    #[test]
    fn the_default_app_is_the_orders_service() {
        let apps = default_apps(Path::new("/w"), 8080);
        assert_eq!(apps[0].url_setting(), "SERVICE_URL");
        assert!(apps[0].command.get_ref()[0].ends_with("debug/service"));
        check(&apps, "").unwrap();
    }
}
