//! SQLAlchemy-style database URLs (`dialect[+driver]://…`) mapped onto our native clients.
//! The driver part is ignored: `postgresql+psycopg2://` and `postgresql://` mean the same here.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sqlite://` (no path) is a private in-memory database.
    SqliteMemory,
    SqliteFile(String),
    /// A `postgresql://` URL as libpq and the `postgres` crate accept it.
    Postgres(String),
    /// A `mysql://` URL as the `mysql` crate accepts it (also for MariaDB).
    Mysql(String),
}

/// What [`parse`] rejects, with a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

pub fn parse(url: &str) -> Result<Target, UrlError> {
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| UrlError(format!("Could not parse SQLAlchemy URL from string '{url}'")))?;
    let dialect = scheme.split('+').next().unwrap_or_default().to_ascii_lowercase();
    match dialect.as_str() {
        "sqlite" => {
            // sqlite:///relative.db, sqlite:////absolute.db; query options are ignored.
            let path = rest.split('?').next().unwrap_or_default();
            let path = percent_decoded(path.strip_prefix('/').unwrap_or(path));
            if path.is_empty() || path == ":memory:" { Ok(Target::SqliteMemory) } else { Ok(Target::SqliteFile(path)) }
        }
        "postgresql" | "postgres" => Ok(Target::Postgres(format!("postgresql://{rest}"))),
        "mysql" | "mariadb" => Ok(Target::Mysql(format!("mysql://{rest}"))),
        other => Err(UrlError(format!(
            "apscheduler_rs has no native client for the database dialect '{other}' \
             (supported: sqlite, postgresql, mysql, mariadb)"
        ))),
    }
}

/// `%XX` escapes decoded, as SQLAlchemy decodes a URL's database part (invalid escapes and
/// bytes that are not UTF-8 are kept as written).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// The URL with its password replaced by `***` (how SQLAlchemy prints engine URLs).
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (auth, host) = match rest.rfind('@') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_forms() {
        assert_eq!(parse("sqlite://"), Ok(Target::SqliteMemory));
        assert_eq!(parse("sqlite:///jobs.sqlite"), Ok(Target::SqliteFile("jobs.sqlite".into())));
        assert_eq!(parse("sqlite:////tmp/j.db"), Ok(Target::SqliteFile("/tmp/j.db".into())));
        assert_eq!(parse("sqlite+pysqlite:///j.db?timeout=3"), Ok(Target::SqliteFile("j.db".into())));
        assert_eq!(parse("sqlite:////x/my%20jobs%C3%A9.db"), Ok(Target::SqliteFile("/x/my jobsé.db".into())));
        assert_eq!(parse("sqlite:///a%zz%+4%4.db"), Ok(Target::SqliteFile("a%zz%+4%4.db".into())));
    }

    #[test]
    fn server_forms_drop_the_driver() {
        assert_eq!(
            parse("postgresql+psycopg2://u:p@h:5432/db"),
            Ok(Target::Postgres("postgresql://u:p@h:5432/db".into()))
        );
        assert_eq!(parse("mariadb+pymysql://root@h/test"), Ok(Target::Mysql("mysql://root@h/test".into())));
        assert!(parse("oracle://x").is_err());
        assert!(parse("nonsense").is_err());
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(masked("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
        assert_eq!(masked("sqlite:///a.db"), "sqlite:///a.db");
    }
}
