//! A migration's down file, `<version>.down.sql` in the rollbacks folder: read with its size and
//! SHA-256, and checked early for statements that would escape the one transaction it runs in.
//! The check is a courtesy, a refusal in a sentence before anyone is asked to approve: what
//! decides is PostgreSQL, which runs the file where transaction control is refused (`rollback.rs`).

use crate::error::UserError;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Larger down files are refused: a rollback is a reviewed script, not a data load.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The file as read: its name, size, hash and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub sql: String,
}

/// The file's name for a version already checked to be digits only (so it cannot leave the folder).
pub fn name(version: &str) -> String {
    format!("{version}.down.sql")
}

/// Reads `<dir>/<version>.down.sql`; a link that leads outside `dir` is refused.
pub async fn read(dir: &Path, version: &str) -> Result<DownFile, UserError> {
    let name = name(version);
    let folder = tokio::fs::canonicalize(dir)
        .await
        .map_err(|_| UserError::new("The rollbacks folder (BELLHOP_ROLLBACKS_DIR) cannot be opened; check that it exists."))?;
    let path = match tokio::fs::canonicalize(folder.join(&name)).await {
        Ok(path) => path,
        Err(_) => return Err(missing(&name)),
    };
    if !path.starts_with(&folder) {
        return Err(UserError::new(format!("The rollback file `{name}` links outside the rollbacks folder; bellhop refuses it.")));
    }
    let meta = tokio::fs::metadata(&path).await.map_err(|_| missing(&name))?;
    if !meta.is_file() {
        return Err(missing(&name));
    }
    if meta.len() > MAX_BYTES {
        return Err(UserError::new(format!("The rollback file `{name}` has {} bytes; at most {MAX_BYTES} are run.", meta.len())));
    }
    let raw = tokio::fs::read(&path).await.map_err(|_| UserError::new(format!("The rollback file `{name}` cannot be read.")))?;
    let sha256 = hex::encode(Sha256::digest(&raw));
    let bytes = raw.len() as u64;
    let sql = String::from_utf8(raw).map_err(|_| UserError::new(format!("The rollback file `{name}` is not UTF-8 text.")))?;
    if sql.trim().is_empty() {
        return Err(UserError::new(format!("The rollback file `{name}` is empty; there is nothing to run.")));
    }
    if sql.contains('\0') {
        return Err(UserError::new(format!("The rollback file `{name}` holds a NUL character, which PostgreSQL cannot take.")));
    }
    Ok(DownFile { name, bytes, sha256, sql })
}

/// The early refusal, when a plan is asked for: a statement that would end bellhop's transaction
/// or outlive it, named in a sentence.
pub fn check(file: &DownFile) -> Result<(), UserError> {
    match escaping_statement(&file.sql) {
        Some((number, why)) => Err(UserError::new(format!("The rollback file `{}`: statement {number} {why}.", file.name))),
        None => Ok(()),
    }
}

fn missing(name: &str) -> UserError {
    UserError::new(format!("There is no rollback file `{name}` in the rollbacks folder (BELLHOP_ROLLBACKS_DIR)."))
}

/// The first statement (1-based) that would end bellhop's transaction or outlive it, and why.
/// Statements inside quotes, comments and dollar-quoted bodies (`DO $$ BEGIN … END $$`) are not
/// statements, so they are skipped.
pub fn escaping_statement(sql: &str) -> Option<(usize, &'static str)> {
    statements(sql).iter().enumerate().find_map(|(n, words)| judge(words).map(|why| (n + 1, why)))
}

fn judge(words: &[String]) -> Option<&'static str> {
    let first = words.first().map(String::as_str).unwrap_or_default();
    let second = words.get(1).map(String::as_str).unwrap_or_default();
    match first {
        "begin" | "start" | "commit" | "end" | "rollback" | "abort" => {
            Some("starts or ends a transaction; bellhop runs the file in its own transaction, so leave out BEGIN, COMMIT and ROLLBACK")
        }
        "prepare" if second == "transaction" => Some("prepares a two-phase commit, which would end bellhop's transaction"),
        "set" | "reset" if !matches!(second, "local" | "constraints" | "transaction") => {
            Some("changes a session setting that would outlive the transaction; write SET LOCAL")
        }
        _ => None,
    }
}

/// The first two words of each top-level statement, lower-cased.
fn statements(sql: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut all = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_word = i > 0 && is_word(chars[i - 1]);
        i = match (c, next) {
            (';', _) => {
                all.push(std::mem::take(&mut words));
                i + 1
            }
            ('-', Some('-')) => chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| i + p + 1),
            ('/', Some('*')) => block_comment_end(&chars, i),
            ('\'', _) => quoted_end(&chars, i, '\'', escapes_backslash(&chars, i)),
            ('"', _) => quoted_end(&chars, i, '"', false),
            ('$', _) if !after_word => dollar_quoted_end(&chars, i).unwrap_or(i + 1),
            _ if is_word(c) && !after_word => {
                let end = chars[i..].iter().position(|&c| !is_word(c)).map_or(chars.len(), |p| i + p);
                if words.len() < 2 {
                    words.push(chars[i..end].iter().collect::<String>().to_lowercase());
                }
                end
            }
            _ => i + 1,
        };
    }
    all.push(words);
    all.retain(|w| !w.is_empty());
    all
}

/// PostgreSQL's identifier characters: ASCII letters, digits, `_` and `$`, and every non-ASCII
/// character (its lexer takes each byte from 0x80 up as a letter, so `€` and U+00A0 are too).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// `E'…'` strings take backslash escapes; plain ones do not (standard_conforming_strings).
fn escapes_backslash(chars: &[char], quote: usize) -> bool {
    quote >= 1 && matches!(chars[quote - 1], 'e' | 'E') && (quote < 2 || !is_word(chars[quote - 2]))
}

/// Past the closing quote; a doubled quote is part of the text.
fn quoted_end(chars: &[char], start: usize, quote: char, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if backslash => i += 2,
            c if c == quote && chars.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past the `*/` that closes the comment at `start`; PostgreSQL's block comments nest.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let (mut depth, mut i) = (0usize, start);
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => (depth, i) = (depth + 1, i + 2),
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past the closing `$tag$` when `start` opens a dollar quote; `None` for `$1` and lone dollars.
fn dollar_quoted_end(chars: &[char], start: usize) -> Option<usize> {
    let close = start + 1 + chars[start + 1..].iter().position(|&c| c == '$')?;
    let tag = &chars[start..=close];
    let inner = &tag[1..tag.len() - 1];
    // A tag is an identifier without `$`: `$€$` and `$_1$` are tags, `$1$` is not.
    let valid = inner.iter().all(|&c| c != '$' && is_word(c)) && !inner.first().is_some_and(|c| c.is_ascii_digit());
    if !valid {
        return None;
    }
    let body = close + 1;
    let found = chars[body..].windows(tag.len()).position(|w| w == tag);
    Some(found.map_or(chars.len(), |p| body + p + tag.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_found_only_where_it_is_a_statement() {
        assert_eq!(escaping_statement("DROP TABLE a;\nCOMMIT;").map(|(n, _)| n), Some(2));
        assert_eq!(escaping_statement("begin; drop table a").map(|(n, _)| n), Some(1));
        assert_eq!(escaping_statement("DELETE FROM a; rollback").map(|(n, _)| n), Some(2));
        assert_eq!(escaping_statement("SET search_path = x; SELECT 1").map(|(n, _)| n), Some(1));
        assert_eq!(escaping_statement("PREPARE TRANSACTION 'x'").map(|(n, _)| n), Some(1));
        let harmless = [
            "DO $$ BEGIN PERFORM 1; END $$; SELECT 1",
            "DO $body$ BEGIN RAISE NOTICE 'x;commit'; END $body$;",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END;';",
            "SELECT 'it''s; commit';  -- commit; here\n/* rollback; /* nested; */ commit; */ SELECT 2",
            "SELECT E'\\'; commit'; SELECT \"commit;\" FROM t",
            "SET LOCAL search_path = public; SELECT $1::int; PREPARE q AS SELECT 1",
            "UPDATE t SET a = 1 WHERE b = 'end'",
        ];
        for sql in harmless {
            assert_eq!(escaping_statement(sql), None, "{sql}");
        }
    }

    #[test]
    fn non_ascii_tags_and_identifiers_read_as_postgresql_reads_them() {
        // `$€$` is a dollar quote, so `it's` is inside it and the COMMIT after it is a statement.
        let euro = "SELECT $€$ it's $€$; COMMIT; DELETE FROM public.users WHERE id IN (SELECT id FROM public.users LIMIT 30);";
        assert_eq!(escaping_statement(euro).map(|(n, _)| n), Some(2));
        // `€$a$` and `z$a$` are identifiers ending in `$`, not a `$a$` quote around the COMMIT.
        assert_eq!(escaping_statement("SELECT 1 AS €$a$; COMMIT; SELECT 2 AS z$a$;").map(|(n, _)| n), Some(2));
        assert_eq!(
            escaping_statement("SELECT 1 AS \u{00A0}$t$; COMMIT; SELECT 2 AS x$t$;").map(|(n, _)| n),
            Some(2),
            "U+00A0 is a letter too"
        );
        // `€E'…'` is the identifier `€E` and a plain string, where a backslash escapes nothing.
        assert_eq!(escaping_statement("SELECT €E'\\'; COMMIT; SELECT 'x'").map(|(n, _)| n), Some(2));
        for harmless in ["SELECT $€$ COMMIT; $€$;", "SELECT $_€1$ rollback; $_€1$", "SELECT 1 AS a$, 2 AS é$b$;"] {
            assert_eq!(escaping_statement(harmless), None, "{harmless}");
        }
    }

    #[test]
    fn unterminated_quotes_do_not_panic() {
        for sql in ["SELECT 'x", "SELECT $a$ x", "/* /* */", "SELECT \"x", "$", "E'\\", "--"] {
            let _ = escaping_statement(sql);
        }
    }
}
