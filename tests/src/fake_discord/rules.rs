//! What Discord checks before it accepts a request, so a bot that breaks a rule fails here as it
//! would in production: command registration rules, and message and embed limits.

use serde_json::Value;

/// Discord's reasons to refuse a command registration (400, code 50035), or none.
pub fn registration_problems(commands: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    if commands.len() > 100 {
        problems.push(format!("{} commands; at most 100", commands.len()));
    }
    for command in commands {
        check_command(command, &command_name(command), &mut problems);
    }
    problems
}

fn command_name(value: &Value) -> String {
    value["name"].as_str().unwrap_or_default().to_string()
}

fn check_command(command: &Value, path: &str, problems: &mut Vec<String>) {
    check_name(&command_name(command), path, problems);
    check_description(command, path, problems);
    let options = command["options"].as_array().cloned().unwrap_or_default();
    if options.len() > 25 {
        problems.push(format!("{path}: {} options; at most 25", options.len()));
    }
    let mut seen_optional = false;
    for option in &options {
        let name = format!("{path} {}", command_name(option));
        match option["type"].as_u64() {
            Some(1 | 2) => check_command(option, &name, problems),
            _ => {
                check_name(&command_name(option), &name, problems);
                check_description(option, &name, problems);
                let required = option["required"].as_bool().unwrap_or(false);
                if required && seen_optional {
                    problems.push(format!("{name}: a required option after an optional one"));
                }
                seen_optional |= !required;
                let choices = option["choices"].as_array().map_or(0, Vec::len);
                if choices > 25 {
                    problems.push(format!("{name}: {choices} choices; at most 25"));
                }
                if choices > 0 && option["autocomplete"].as_bool() == Some(true) {
                    problems.push(format!("{name}: choices and autocomplete together"));
                }
                if let Some(max) = option["max_length"].as_u64() {
                    if !(1..=6000).contains(&max) {
                        problems.push(format!("{name}: max_length {max} outside 1..=6000"));
                    }
                }
            }
        }
    }
}

/// `^[-_\p{L}\p{N}]{1,32}$`, lower case where the script has case.
fn check_name(name: &str, path: &str, problems: &mut Vec<String>) {
    let length = name.chars().count();
    let valid = (1..=32).contains(&length)
        && name.chars().all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        && name.chars().all(|c| !c.is_uppercase());
    if !valid {
        problems.push(format!("{path}: the name {name:?} breaks Discord's naming rule"));
    }
}

fn check_description(value: &Value, path: &str, problems: &mut Vec<String>) {
    let length = value["description"].as_str().map_or(0, |d| d.chars().count());
    if !(1..=100).contains(&length) {
        problems.push(format!("{path}: description of {length} characters; 1 to 100"));
    }
}

/// Discord's reasons to refuse a message body, or none.
pub fn message_problems(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let count = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    if count(&body["content"]) > 2000 {
        problems.push("content over 2000 characters".to_string());
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        problems.push(format!("{} embeds; at most 10", embeds.len()));
    }
    for embed in &embeds {
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        let limits = [("title", 256), ("description", 4096)];
        for (key, max) in limits {
            if count(&embed[key]) > max {
                problems.push(format!("embed {key} over {max} characters"));
            }
        }
        if fields.len() > 25 {
            problems.push(format!("{} embed fields; at most 25", fields.len()));
        }
        let mut total = count(&embed["title"]) + count(&embed["description"]) + count(&embed["footer"]["text"]);
        for field in &fields {
            if count(&field["name"]) > 256 || count(&field["value"]) > 1024 {
                problems.push("an embed field over its limit (name 256, value 1024)".to_string());
            }
            total += count(&field["name"]) + count(&field["value"]);
        }
        if total > 6000 {
            problems.push(format!("an embed of {total} characters; at most 6000"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fake_refuses_what_discord_refuses() {
        let bad = json!({"name": "Incident", "description": "", "options": [
            {"type": 3, "name": "a", "description": "x", "required": false},
            {"type": 3, "name": "b", "description": "x", "required": true}]});
        let problems = registration_problems(&[bad]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let good =
            json!({"name": "incident", "description": "d", "options": [{"type": 1, "name": "ack", "description": "d", "options": []}]});
        assert!(registration_problems(&[good]).is_empty());
        let long = json!({"embeds": [{"title": "t".repeat(257)}]});
        assert_eq!(message_problems(&long), ["embed title over 256 characters"]);
    }
}
