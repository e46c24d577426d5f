//! `/help`: the command table, as a person reads it.

use super::spec::SPECS;
use crate::actor::Actor;
use crate::post::{Post, Reply, Tone};

pub(crate) fn help(actor: &Actor) -> Reply {
    let post = SPECS.iter().fold(Post::new(Tone::Info, "bellhop commands"), |post, spec| {
        let access = if spec.access.allows(actor) { String::new() } else { format!(" (needs {})", spec.access.describe()) };
        post.field(spec.usage(), format!("{}{access}", spec.description))
    });
    Reply::invoker(post)
}
