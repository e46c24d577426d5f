//! The runbook's message templates: shipped in the binary, overridable from a directory.

use anyhow::Context as _;
use minijinja::{Environment, UndefinedBehavior};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const EMBEDDED: [(&str, &str); 7] = [
    ("p0-investigating", include_str!("../../templates/p0-investigating.j2")),
    ("p1-alert", include_str!("../../templates/p1-alert.j2")),
    ("resolved", include_str!("../../templates/resolved.j2")),
    ("maintenance-scheduled", include_str!("../../templates/maintenance-scheduled.j2")),
    ("maintenance-emergency", include_str!("../../templates/maintenance-emergency.j2")),
    ("maintenance-started", include_str!("../../templates/maintenance-started.j2")),
    ("maintenance-completed", include_str!("../../templates/maintenance-completed.j2")),
];
const EMBEDDED_SAMPLES: &str = include_str!("../../templates/samples.toml");

/// The variables bellhop's code fills in for each shipped template. An override may use any of
/// these and nothing else: a variable nobody supplies would fail only when the post is due.
pub const SUPPLIED: [(&str, &[&str]); 7] = [
    ("p0-investigating", &["affected", "eta", "impact", "update_every"]),
    (
        "p1-alert",
        &[
            "database_status",
            "duration",
            "error_rate",
            "function",
            "impact",
            "investigation",
            "log_findings",
            "next_steps",
            "subject",
            "threshold",
        ],
    ),
    ("resolved", &["affected", "duration", "root_cause"]),
    ("maintenance-scheduled", &["duration", "start", "summary"]),
    ("maintenance-emergency", &["duration", "summary"]),
    ("maintenance-started", &["end", "summary"]),
    ("maintenance-completed", &["summary", "validation"]),
];

/// Values to fill a template with, by variable name.
pub type Values = BTreeMap<String, String>;

pub fn values<const N: usize>(pairs: [(&str, String); N]) -> Values {
    pairs.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("there is no template {}; the templates are {}", crate::text::quote(.name), .known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("template `{name}` needs {}: no value was given", .missing.join(", "))]
    Missing { name: String, missing: Vec<String> },
    #[error("template `{name}` cannot be rendered: {reason}")]
    Broken { name: String, reason: String },
    /// An override of a shipped template uses a variable the code never fills in.
    #[error(
        "{} uses {}, which bellhop does not supply to `{name}`; it supplies {}",
        .file.display(),
        .unknown.join(", "),
        .supplied.join(", ")
    )]
    Unsupplied { file: PathBuf, name: String, unknown: Vec<String>, supplied: Vec<String> },
    #[error("{} does not parse: {reason}", .file.display())]
    Unparsable { file: PathBuf, reason: String },
}

impl TemplateError {
    /// True when the error is in a file the operator configured, not in bellhop.
    pub fn is_configuration(&self) -> bool {
        matches!(self, TemplateError::Unsupplied { .. } | TemplateError::Unparsable { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateInfo {
    pub name: String,
    pub variables: Vec<String>,
}

pub struct Templates {
    env: Environment<'static>,
    names: Vec<String>,
    /// The sample values `/template show` renders with: a directory's `samples.toml`, parsed
    /// (and refused when broken) at load, or the shipped one, parsed when first shown.
    samples: OnceLock<BTreeMap<String, Values>>,
}

impl Templates {
    /// The shipped templates, with files `NAME.j2` from `dir` taking precedence.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut overrides: BTreeMap<String, String> = BTreeMap::new();
        let samples = OnceLock::new();
        if let Some(dir) = dir {
            for (name, path) in template_files(dir)? {
                let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read template {}", path.display()))?;
                check_override(&name, &path, &text)?;
                overrides.insert(name, text);
            }
            let file = dir.join("samples.toml");
            if file.exists() {
                let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let _ = samples.set(parse_samples(&text)?);
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // The shipped templates are parsed when first used (the tests parse every one), so a
        // start pays for none; a directory's are parsed here, and a broken one stops bellhop
        // before anyone needs it.
        env.set_loader(|name| Ok(EMBEDDED.iter().find(|(shipped, _)| *shipped == name).map(|(_, text)| text.to_string())));
        for (name, text) in &overrides {
            env.add_template_owned(name.clone(), text.clone()).with_context(|| format!("template `{name}` does not parse"))?;
        }
        let names: BTreeSet<String> = EMBEDDED.iter().map(|(name, _)| name.to_string()).chain(overrides.into_keys()).collect();
        Ok(Templates { env, names: names.into_iter().collect(), samples })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn list(&self) -> Vec<TemplateInfo> {
        self.names.iter().map(|name| TemplateInfo { name: name.clone(), variables: self.variables(name) }).collect()
    }

    fn variables(&self, name: &str) -> Vec<String> {
        let template = self.env.get_template(name).expect("listed templates exist");
        let mut vars: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        vars.sort();
        vars
    }

    /// Renders `name`; every variable it uses must have a value, or the error names those missing.
    pub fn render(&self, name: &str, values: &Values) -> Result<String, TemplateError> {
        let template =
            self.env.get_template(name).map_err(|_| TemplateError::Unknown { name: name.to_string(), known: self.names.clone() })?;
        let needed: BTreeSet<String> = template.undeclared_variables(false).into_iter().collect();
        let missing: Vec<String> = needed.into_iter().filter(|v| !values.contains_key(v)).collect();
        if !missing.is_empty() {
            return Err(TemplateError::Missing { name: name.to_string(), missing });
        }
        template.render(values).map_err(|e| TemplateError::Broken { name: name.to_string(), reason: e.to_string() })
    }

    /// Renders `name` with its sample values; a variable without a sample shows as `[name]`.
    pub fn render_sample(&self, name: &str) -> Result<String, TemplateError> {
        if !self.names.iter().any(|n| n == name) {
            return Err(TemplateError::Unknown { name: name.to_string(), known: self.names.clone() });
        }
        let samples = self.samples.get_or_init(|| parse_samples(EMBEDDED_SAMPLES).expect("the shipped samples parse (a test reads them)"));
        let mut values = samples.get(name).cloned().unwrap_or_default();
        for var in self.variables(name) {
            values.entry(var.clone()).or_insert_with(|| format!("[{var}]"));
        }
        self.render(name, &values)
    }
}

/// An override must parse, and use only what the code supplies to the template it replaces.
fn check_override(name: &str, file: &Path, text: &str) -> Result<(), TemplateError> {
    let mut env = Environment::new();
    env.add_template(name, text).map_err(|e| TemplateError::Unparsable { file: file.to_path_buf(), reason: e.to_string() })?;
    let Some((_, supplied)) = SUPPLIED.iter().find(|(shipped, _)| *shipped == name) else { return Ok(()) };
    let template = env.get_template(name).map_err(|e| TemplateError::Unparsable { file: file.to_path_buf(), reason: e.to_string() })?;
    let mut unknown: Vec<String> = template.undeclared_variables(false).into_iter().filter(|v| !supplied.contains(&v.as_str())).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(TemplateError::Unsupplied {
        file: file.to_path_buf(),
        name: name.to_string(),
        unknown,
        supplied: supplied.iter().map(|v| v.to_string()).collect(),
    })
}

fn template_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read the templates directory {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "j2") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                files.push((stem.to_string(), path.clone()));
            }
        }
    }
    Ok(files)
}

fn parse_samples(text: &str) -> anyhow::Result<BTreeMap<String, Values>> {
    toml::from_str(text).context("template samples are not a table of tables of strings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_list_their_variables() {
        let templates = Templates::load(None).unwrap();
        let list = templates.list();
        let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, EMBEDDED.iter().map(|(name, _)| *name).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>());
        assert_eq!(list[6].variables, ["affected", "duration", "root_cause"]);
    }

    #[test]
    fn rendering_keeps_the_runbook_emoji_intact() {
        let templates = Templates::load(None).unwrap();
        insta::assert_snapshot!(templates.render_sample("p0-investigating").unwrap(), @r"
        🚨 INVESTIGATING: We are currently experiencing issues with our authentication system.
        New user signups and logins may be affected. We are actively investigating and will
        provide updates every 15 minutes.
        ETA for resolution: 30 minutes
        ");
        assert!(templates.render_sample("resolved").unwrap().starts_with("✅ RESOLVED"));
    }

    #[test]
    fn a_missing_variable_is_named_not_left_empty() {
        let templates = Templates::load(None).unwrap();
        let values = Values::from([("affected".to_string(), "login".to_string())]);
        let err = templates.render("resolved", &values).unwrap_err();
        assert_eq!(err.to_string(), "template `resolved` needs duration, root_cause: no value was given");
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let templates = Templates::load(None).unwrap();
        let err = templates.render_sample("p9").unwrap_err();
        assert_eq!(err.to_string(), "there is no template `p9`; the templates are maintenance-completed, maintenance-emergency, maintenance-scheduled, maintenance-started, p0-investigating, p1-alert, resolved");
    }

    #[test]
    fn the_shipped_templates_use_only_what_the_code_supplies() {
        let templates = Templates::load(None).unwrap();
        assert_eq!(SUPPLIED.len(), EMBEDDED.len());
        for (name, supplied) in SUPPLIED {
            for variable in templates.variables(name) {
                assert!(supplied.contains(&variable.as_str()), "`{name}` uses {variable}, which SUPPLIED does not list");
            }
        }
    }

    #[test]
    fn an_override_using_a_variable_nobody_supplies_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resolved.j2");
        std::fs::write(&file, "Fixed by {{ commander }}: {{ root_cause }} ({{ eta }})").unwrap();
        let error = Templates::load(Some(dir.path())).err().unwrap();
        let error = error.downcast_ref::<TemplateError>().expect("a typed template error");
        assert!(error.is_configuration());
        assert_eq!(
            error.to_string(),
            format!(
                "{} uses commander, eta, which bellhop does not supply to `resolved`; it supplies affected, duration, root_cause",
                file.display()
            )
        );
        std::fs::write(&file, "Fixed: {{ root_cause ").unwrap();
        let error = Templates::load(Some(dir.path())).err().unwrap().to_string();
        assert!(error.starts_with(&format!("{} does not parse: ", file.display())), "{error}");
    }

    #[test]
    fn a_configured_directory_overrides_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("resolved.j2"), "Fixed: {{ root_cause }}").unwrap();
        std::fs::write(dir.path().join("all-clear.j2"), "All clear at {{ time }}").unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(templates.names()[0], "all-clear", "added beside the shipped ones, in name order");
        assert_eq!(templates.names().len(), EMBEDDED.len() + 1);
        assert_eq!(
            templates.render_sample("resolved").unwrap(),
            "Fixed: An expired signing key was rotated; sessions are being issued again."
        );
        assert_eq!(templates.render_sample("all-clear").unwrap(), "All clear at [time]");
    }
}
