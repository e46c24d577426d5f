//! `/template show name:…`: one template rendered with sample values.

use crate::error::{CommandError, UserError};
use crate::post::{Post, Reply, Tone};
use crate::templates::{TemplateError, Templates};

pub(crate) fn template_show(templates: &Templates, name: &str) -> Result<Reply, CommandError> {
    let text = templates.render_sample(name).map_err(|error| match error {
        TemplateError::Unknown { .. } => CommandError::User(UserError::new(format!("{}.", capitalise(&error.to_string())))),
        other => CommandError::Internal(other.into()),
    })?;
    Ok(Reply::invoker(Post::new(Tone::Info, format!("Template {name} (sample values)")).body(text)))
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
