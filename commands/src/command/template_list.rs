//! `/template list`: the runbook's templates and the values each needs.

use crate::post::{Post, Reply, Tone};
use crate::templates::Templates;

pub(crate) fn template_list(templates: &Templates) -> Reply {
    let post = templates.list().into_iter().fold(Post::new(Tone::Info, "Templates"), |post, t| {
        let needs = if t.variables.is_empty() { "no values".to_string() } else { t.variables.join(", ") };
        post.field(t.name, format!("needs {needs}"))
    });
    Reply::invoker(post)
}
