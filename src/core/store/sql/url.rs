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
            let path = path.strip_prefix('/').unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                Ok(Target::SqliteMemory)
            } else {
                Ok(Target::SqliteFile(path.to_owned()))
            }
        }
        "postgresql" | "postgres" => Ok(Target::Postgres(format!("postgresql://{rest}"))),
        "mysql" | "mariadb" => Ok(Target::Mysql(format!("mysql://{rest}"))),
        other => Err(UrlError(format!(
            "apscheduler_rs has no native client for the database dialect '{other}' \
             (supported: sqlite, postgresql, mysql, mariadb)"
        ))),
    }
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
