//! Messages with files arrive as multipart/form-data: the JSON in a `payload_json` part, each
//! file in a part of its own. The fake reads both, as Discord does.

use serde_json::Value;

/// The boundary of a multipart content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let rest = content_type.strip_prefix("multipart/form-data")?;
    rest.split(';').find_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_string())
}

/// The JSON payload and the names of the files.
pub fn parse(body: &[u8], boundary: &str) -> (Value, Vec<String>) {
    let text = String::from_utf8_lossy(body);
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else { continue };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content).unwrap_or(Value::Null);
        } else if let Some(filename) = head.split("filename=\"").nth(1).and_then(|rest| rest.split('"').next()) {
            files.push(filename.to_string());
        }
    }
    (payload, files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_and_files_are_read() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--b\r\n\
                    Content-Disposition: form-data; name=\"files[0]\"; filename=\"pm.md\"\r\n\r\n# x\r\n--b--\r\n";
        assert_eq!(super::boundary("multipart/form-data; boundary=b").as_deref(), Some("b"));
        let (payload, files) = super::parse(body.as_bytes(), "b");
        assert_eq!((payload["content"].as_str(), files), (Some("hi"), vec!["pm.md".to_string()]));
    }
}
