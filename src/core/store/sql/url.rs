//! SQLAlchemy-style database URLs (`dialect[+driver]://…`) mapped onto our native clients.
//! The driver part is ignored: `postgresql+psycopg2://` and `postgresql://` mean the same here.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sqlite://` (no path) is a private in-memory database.
    SqliteMemory,
    SqliteFile(String),
    /// A `postgresql://` URL as libpq and the `postgres` crate accept it.
    Postgres(String),
    /// A `mysql://` URL as the `mysql` crate accepts it, without its query (also for MariaDB).
    Mysql {
        url: String,
        options: MysqlOptions,
    },
}

/// Settings from a MySQL URL's query: the parameters SQLAlchemy hands to PyMySQL or
/// mysqlclient that mean something to our client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlOptions {
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
}

fn mysql_options(query: &str) -> Result<MysqlOptions, UrlError> {
    let mut options = MysqlOptions::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decoded(key, true), percent_decoded(value, true));
        let invalid = || UrlError(format!("Invalid value {value:?} for the MySQL URL parameter '{key}'"));
        let seconds = || match value.parse::<u64>() {
            Ok(s) if s > 0 => Ok(Some(Duration::from_secs(s))),
            _ => Err(invalid()),
        };
        let truthy = || ["1", "true", "yes", "on", "y", "t"].contains(&value.to_ascii_lowercase().as_str());
        match key.as_str() {
            // The client always talks utf8mb4, which holds all of utf8 (utf8mb3).
            "charset" => {
                if !["utf8mb4", "utf8", "utf8mb3"].contains(&value.to_ascii_lowercase().as_str()) {
                    return Err(UrlError(format!(
                        "apscheduler_rs always connects to MySQL with the charset utf8mb4; \
                         the URL asks for charset={value}"
                    )));
                }
            }
            "connect_timeout" => options.connect_timeout = seconds()?,
            "read_timeout" => options.read_timeout = seconds()?,
            "write_timeout" => options.write_timeout = seconds()?,
            // No effect here: values travel as statement parameters (never escaped into the
            // SQL text), text always comes back decoded, and LOAD DATA is never used.
            "binary_prefix" | "use_unicode" | "local_infile" => {}
            // Asking for no TLS is what the client does anyway.
            "ssl_mode" if value.eq_ignore_ascii_case("disabled") => {}
            "ssl_disabled" if truthy() => {}
            k if k.starts_with("ssl") => {
                return Err(UrlError(format!(
                    "apscheduler_rs's MySQL client is built without TLS: the URL parameter '{k}' is not supported"
                )));
            }
            _ => {
                return Err(UrlError(format!(
                    "Unknown MySQL URL parameter '{key}' (apscheduler_rs understands charset, \
                     connect_timeout, read_timeout, write_timeout, binary_prefix, use_unicode, local_infile)"
                )));
            }
        }
    }
    Ok(options)
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
            let path = percent_decoded(path.strip_prefix('/').unwrap_or(path), false);
            if path.is_empty() || path == ":memory:" { Ok(Target::SqliteMemory) } else { Ok(Target::SqliteFile(path)) }
        }
        "postgresql" | "postgres" => Ok(Target::Postgres(format!("postgresql://{rest}"))),
        "mysql" | "mariadb" => {
            let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
            Ok(Target::Mysql { url: format!("mysql://{rest}"), options: mysql_options(query)? })
        }
        other => Err(UrlError(format!(
            "apscheduler_rs has no native client for the database dialect '{other}' \
             (supported: sqlite, postgresql, mysql, mariadb)"
        ))),
    }
}

/// `%XX` escapes decoded, as SQLAlchemy decodes a URL's database part (`unquote`), and with
/// `plus_is_space` its query (`parse_qsl`). Invalid escapes and bytes that are not UTF-8 are
/// kept as written.
fn percent_decoded(text: &str, plus_is_space: bool) -> String {
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
            (b'+', _) if plus_is_space => {
                out.push(b' ');
                i += 1;
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
        let mysql = |url: &str| Target::Mysql { url: url.into(), options: MysqlOptions::default() };
        assert_eq!(parse("mariadb+pymysql://root@h/test"), Ok(mysql("mysql://root@h/test")));
        assert_eq!(parse("mysql+pymysql://root@h/test"), Ok(mysql("mysql://root@h/test")));
        assert_eq!(parse("mariadb://root@h/test"), Ok(mysql("mysql://root@h/test")));
        assert!(parse("oracle://x").is_err());
        assert!(parse("nonsense").is_err());
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(masked("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
        assert_eq!(masked("sqlite:///a.db"), "sqlite:///a.db");
    }

    fn mysql_options_of(url: &str) -> Result<MysqlOptions, String> {
        match parse(url) {
            Ok(Target::Mysql { options, .. }) => Ok(options),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.0),
        }
    }

    #[test]
    fn mysql_query_parameters() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            parse("mysql://u@h/db?charset=utf8mb4&binary_prefix=true"),
            Ok(Target::Mysql { url: "mysql://u@h/db".into(), options: MysqlOptions::default() })
        );
        assert_eq!(
            mysql_options_of("mysql://h/db?connect_timeout=5&read_timeout=30&write_timeout=%33%30&charset=UTF8"),
            Ok(MysqlOptions { connect_timeout: secs(5), read_timeout: secs(30), write_timeout: secs(30) })
        );
        assert!(mysql_options_of("mysql://h/db?ssl_mode=DISABLED&ssl_disabled=1&use_unicode=1").is_ok());
        for (url, needle) in [
            ("mysql://h/db?charset=latin1", "charset=latin1"),
            ("mysql://h/db?connect_timeout=soon", "'connect_timeout'"),
            ("mysql://h/db?connect_timeout=0", "'connect_timeout'"),
            ("mysql://h/db?ssl_ca=/ca.pem", "without TLS: the URL parameter 'ssl_ca'"),
            ("mysql://h/db?ssl_mode=REQUIRED", "'ssl_mode'"),
            ("mysql://h/db?pool_max=3", "Unknown MySQL URL parameter 'pool_max'"),
        ] {
            let err = mysql_options_of(url).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }
}
