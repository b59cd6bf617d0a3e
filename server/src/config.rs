//! Configuration from environment variables, with defaults. A bad value stops startup with a
//! message naming the variable and the form it accepts. Secrets never print.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

/// A value that must not reach logs (passwords inside URLs).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not valid: expected {accepted}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub accepted: &'static str,
}

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub min_connections: u32,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub max_lifetime: Duration,
    /// Connections idle longer than this are pinged before use; fresher ones are not.
    pub stale_after: Duration,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: Secret,
    pub pool: PoolConfig,
    pub data_dir: PathBuf,
    pub site_root: PathBuf,
    pub time_zone: chrono_tz::Tz,
    pub currency: String,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub image_cache_bytes: u64,
    /// Largest accepted photo upload in bytes.
    pub upload_max_bytes: usize,
    pub log: String,
    pub log_json: bool,
    pub demo_data: bool,
    pub hsts: crate::security::Hsts,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    pub metrics_token: Option<Secret>,
    pub pickup_address: String,
    pub opening_hours: String,
    pub hold_minutes: i64,
    pub session_secure: bool,
    /// Sign-in attempts a minute per client address and per account.
    pub sign_in_per_address: u32,
    pub sign_in_per_account: u32,
    /// Behind our own proxy: take the client address from X-Forwarded-For's last entry.
    pub trust_forwarded_for: bool,
    /// How long a claimed job is held before another worker may take it over.
    pub job_lease: Duration,
    /// The wait before a failed job's first retry (doubling after each further failure).
    pub job_first_retry: Duration,
}

/// Every variable the server reads: name, default, accepted form. The README's table is this.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "RENTWISE_LISTEN",
        "127.0.0.1:3000",
        "an address and port such as 127.0.0.1:3000",
    ),
    (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/rentwise",
        "a postgres:// URL",
    ),
    (
        "RENTWISE_DB_MIN_CONNECTIONS",
        "20",
        "a whole number of connections kept warm",
    ),
    (
        "RENTWISE_DB_MAX_CONNECTIONS",
        "50",
        "a whole number ≥ the minimum, at least 1",
    ),
    (
        "RENTWISE_DB_ACQUIRE_TIMEOUT_MS",
        "1000",
        "milliseconds, 1 to 60000",
    ),
    (
        "RENTWISE_DB_MAX_LIFETIME_SECS",
        "3600",
        "seconds, at least 1",
    ),
    (
        "RENTWISE_DB_STALE_AFTER_SECS",
        "10",
        "seconds of idleness after which a connection is checked",
    ),
    (
        "RENTWISE_DATA_DIR",
        ".data",
        "a directory path (created if missing)",
    ),
    (
        "RENTWISE_SITE_ROOT",
        "target/site",
        "the directory holding the built pkg/ and public files",
    ),
    (
        "RENTWISE_TIME_ZONE",
        "Europe/Brussels",
        "an IANA time zone name such as Europe/Brussels",
    ),
    (
        "RENTWISE_CURRENCY",
        "EUR",
        "a three-letter ISO 4217 code such as EUR",
    ),
    (
        "SMTP_URL",
        "(unset: emails go to the outbox folder)",
        "an smtp:// or smtps:// URL",
    ),
    ("RENTWISE_IMAGE_CACHE_MB", "500", "megabytes, at least 1"),
    (
        "RENTWISE_UPLOAD_MAX_MB",
        "25",
        "megabytes, 1 to 1024: the largest photo staff may upload",
    ),
    (
        "RENTWISE_LOG",
        "info",
        "a tracing filter such as info or rentwise=debug,info",
    ),
    (
        "RENTWISE_DEMO_DATA",
        "true",
        "true or false: load demo data into an empty database",
    ),
    (
        "RENTWISE_MAIL_FROM",
        "rentwise <shop@rentwise.local>",
        "the sender of the shop's emails, e.g. Shop <shop@example.com>",
    ),
    (
        "RENTWISE_LOG_FORMAT",
        "text",
        "text (for people) or json (one object a line, for collectors)",
    ),
    (
        "RENTWISE_HSTS",
        "auto",
        "on, off, or auto (only when the request came over TLS or X-Forwarded-Proto: https)",
    ),
    (
        "RENTWISE_REQUEST_TIMEOUT_SECS",
        "30",
        "seconds, 1 to 3600; a slower request gets 503",
    ),
    (
        "RENTWISE_MAX_IN_FLIGHT",
        "4096",
        "requests served at once, at least 1; more get 503 + Retry-After",
    ),
    (
        "RENTWISE_METRICS_TOKEN",
        "(unset: staff only)",
        "a bearer token of at least 16 characters for /performance/stats and /metrics",
    ),
    (
        "RENTWISE_PICKUP_ADDRESS",
        "rentwise, Rue des Tanneurs 12, 1000 Brussels",
        "the address where customers pick up and return rentals (printed in emails)",
    ),
    (
        "RENTWISE_OPENING_HOURS",
        "Mon-Sat 08:00-18:00",
        "opening hours as customers should read them",
    ),
    (
        "RENTWISE_HOLD_MINUTES",
        "15",
        "minutes, 1 to 240: how long Reserve keeps a unit during checkout",
    ),
    (
        "RENTWISE_SECURE_COOKIES",
        "false",
        "true or false: mark the session cookie Secure (set true behind HTTPS)",
    ),
    (
        "RENTWISE_SIGN_IN_PER_ADDRESS",
        "20",
        "sign-in attempts (and, apart, sign-ups) a minute from one client address, 1 to 100000; more get 429",
    ),
    (
        "RENTWISE_SIGN_IN_PER_ACCOUNT",
        "5",
        "sign-in attempts a minute for one account, 1 to 100000; more get 429",
    ),
    (
        "RENTWISE_TRUST_X_FORWARDED_FOR",
        "false",
        "true or false: true only behind a proxy that appends the client to X-Forwarded-For",
    ),
    (
        "RENTWISE_JOB_LEASE_SECS",
        "60",
        "seconds, 1 to 3600: a job whose worker died runs again after this",
    ),
    (
        "RENTWISE_JOB_FIRST_RETRY_SECS",
        "60",
        "seconds, 1 to 86400: the wait before a failed job's first retry (then doubling)",
    ),
];

fn default_of(name: &str) -> &'static str {
    VARIABLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, default, _)| *default)
        .expect("every variable read is listed in VARIABLES")
}

fn accepted_of(name: &str) -> &'static str {
    VARIABLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, accepted)| *accepted)
        .expect("every variable read is listed in VARIABLES")
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw = |name: &'static str| -> (String, bool) {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                Some(value) => (value.trim().to_owned(), true),
                None => (default_of(name).to_owned(), false),
            }
        };
        let fail = |name: &'static str, value: String| ConfigError {
            name,
            value,
            accepted: accepted_of(name),
        };
        let parse = |name: &'static str| -> Result<(String, u64), ConfigError> {
            let (value, _) = raw(name);
            let number = u64::from_str(&value).map_err(|_| fail(name, value.clone()))?;
            Ok((value, number))
        };
        let bounded = |name: &'static str, min: u64, max: u64| -> Result<u64, ConfigError> {
            let (value, number) = parse(name)?;
            if (min..=max).contains(&number) {
                Ok(number)
            } else {
                Err(fail(name, value))
            }
        };
        let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);

        let (listen_raw, _) = raw("RENTWISE_LISTEN");
        let listen =
            SocketAddr::from_str(&listen_raw).map_err(|_| fail("RENTWISE_LISTEN", listen_raw))?;

        let (database_url, _) = raw("DATABASE_URL");
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            // Never echo the value: it may hold a password.
            return Err(fail("DATABASE_URL", "(hidden)".into()));
        }

        let min_connections = as_u32(bounded("RENTWISE_DB_MIN_CONNECTIONS", 0, 10_000)?);
        let (max_raw, _) = raw("RENTWISE_DB_MAX_CONNECTIONS");
        let max_connections = as_u32(bounded("RENTWISE_DB_MAX_CONNECTIONS", 1, 10_000)?);
        if max_connections < min_connections {
            return Err(fail("RENTWISE_DB_MAX_CONNECTIONS", max_raw));
        }
        let pool = PoolConfig {
            min_connections,
            max_connections,
            acquire_timeout: Duration::from_millis(bounded(
                "RENTWISE_DB_ACQUIRE_TIMEOUT_MS",
                1,
                60_000,
            )?),
            max_lifetime: Duration::from_secs(bounded(
                "RENTWISE_DB_MAX_LIFETIME_SECS",
                1,
                u64::from(u32::MAX),
            )?),
            stale_after: Duration::from_secs(bounded("RENTWISE_DB_STALE_AFTER_SECS", 0, 86_400)?),
        };

        let (tz_raw, _) = raw("RENTWISE_TIME_ZONE");
        let time_zone =
            chrono_tz::Tz::from_str(&tz_raw).map_err(|_| fail("RENTWISE_TIME_ZONE", tz_raw))?;

        let (currency, _) = raw("RENTWISE_CURRENCY");
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(fail("RENTWISE_CURRENCY", currency));
        }

        let smtp_url = match raw("SMTP_URL") {
            (value, true) => {
                if !(value.starts_with("smtp://") || value.starts_with("smtps://")) {
                    return Err(fail("SMTP_URL", "(hidden)".into()));
                }
                Some(Secret::new(value))
            }
            (_, false) => None,
        };

        let (mail_from, _) = raw("RENTWISE_MAIL_FROM");
        if !(mail_from.contains('@') && mail_from.len() <= 200) {
            return Err(fail("RENTWISE_MAIL_FROM", mail_from));
        }

        let image_cache_bytes = bounded("RENTWISE_IMAGE_CACHE_MB", 1, 1 << 30)? * 1024 * 1024;
        let upload_max_bytes =
            usize::try_from(bounded("RENTWISE_UPLOAD_MAX_MB", 1, 1024)? * 1024 * 1024)
                .unwrap_or(usize::MAX);

        let yes_no = |name: &'static str| -> Result<bool, ConfigError> {
            let (value, _) = raw(name);
            match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(fail(name, value)),
            }
        };
        let demo_data = yes_no("RENTWISE_DEMO_DATA")?;

        let (hsts_raw, _) = raw("RENTWISE_HSTS");
        let hsts = match hsts_raw.to_ascii_lowercase().as_str() {
            "on" => crate::security::Hsts::On,
            "off" => crate::security::Hsts::Off,
            "auto" => crate::security::Hsts::Auto,
            _ => return Err(fail("RENTWISE_HSTS", hsts_raw)),
        };
        let request_timeout =
            Duration::from_secs(bounded("RENTWISE_REQUEST_TIMEOUT_SECS", 1, 3600)?);
        let max_in_flight =
            usize::try_from(bounded("RENTWISE_MAX_IN_FLIGHT", 1, 1 << 20)?).unwrap_or(usize::MAX);
        let metrics_token = match raw("RENTWISE_METRICS_TOKEN") {
            (value, true) if value.len() >= 16 => Some(Secret::new(value)),
            (_, true) => return Err(fail("RENTWISE_METRICS_TOKEN", "(hidden)".into())),
            (_, false) => None,
        };

        let (format_raw, _) = raw("RENTWISE_LOG_FORMAT");
        let log_json = match format_raw.to_ascii_lowercase().as_str() {
            "text" => false,
            "json" => true,
            _ => return Err(fail("RENTWISE_LOG_FORMAT", format_raw)),
        };

        let text = |name: &'static str, max: usize| -> Result<String, ConfigError> {
            let (value, _) = raw(name);
            if value.chars().count() > max || value.chars().any(char::is_control) {
                return Err(fail(name, value));
            }
            Ok(value)
        };
        let pickup_address = text("RENTWISE_PICKUP_ADDRESS", 300)?;
        let opening_hours = text("RENTWISE_OPENING_HOURS", 200)?;
        let hold_minutes = i64::try_from(bounded("RENTWISE_HOLD_MINUTES", 1, 240)?).unwrap_or(15);
        let session_secure = yes_no("RENTWISE_SECURE_COOKIES")?;

        let sign_in_per_address = as_u32(bounded("RENTWISE_SIGN_IN_PER_ADDRESS", 1, 100_000)?);
        let sign_in_per_account = as_u32(bounded("RENTWISE_SIGN_IN_PER_ACCOUNT", 1, 100_000)?);
        let trust_forwarded_for = yes_no("RENTWISE_TRUST_X_FORWARDED_FOR")?;
        let job_lease = Duration::from_secs(bounded("RENTWISE_JOB_LEASE_SECS", 1, 3600)?);
        let job_first_retry =
            Duration::from_secs(bounded("RENTWISE_JOB_FIRST_RETRY_SECS", 1, 86_400)?);

        let (log, _) = raw("RENTWISE_LOG");
        if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
            return Err(fail("RENTWISE_LOG", log));
        }

        Ok(Config {
            listen,
            database_url: Secret::new(database_url),
            pool,
            data_dir: PathBuf::from(raw("RENTWISE_DATA_DIR").0),
            site_root: PathBuf::from(raw("RENTWISE_SITE_ROOT").0),
            time_zone,
            currency,
            smtp_url,
            mail_from,
            image_cache_bytes,
            upload_max_bytes,
            log,
            log_json,
            demo_data,
            hsts,
            request_timeout,
            max_in_flight,
            metrics_token,
            pickup_address,
            opening_hours,
            hold_minutes,
            session_secure,
            sign_in_per_address,
            sign_in_per_account,
            trust_forwarded_for,
            job_lease,
            job_first_retry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_seed_system() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.pool.min_connections, 20);
        assert_eq!(config.pool.max_connections, 50);
        assert_eq!(config.pool.max_lifetime, Duration::from_secs(3600));
        assert_eq!(config.image_cache_bytes, 500 * 1024 * 1024);
        assert_eq!(config.time_zone, chrono_tz::Europe::Brussels);
        assert!(config.smtp_url.is_none());
    }

    #[test]
    fn bad_values_name_the_variable_and_the_form() {
        let cases = [
            ("RENTWISE_LISTEN", "localhost"),
            ("RENTWISE_DB_MAX_CONNECTIONS", "lots"),
            ("RENTWISE_DB_MAX_CONNECTIONS", "5"), // below the default minimum of 20
            ("RENTWISE_TIME_ZONE", "Mars/Olympus"),
            ("RENTWISE_CURRENCY", "euro"),
            ("RENTWISE_DEMO_DATA", "maybe"),
            ("RENTWISE_DB_ACQUIRE_TIMEOUT_MS", "0"),
        ];
        for (name, value) in cases {
            let err = config(&[(name, value)]).expect_err(name);
            assert_eq!(err.name, name);
            assert!(err.to_string().starts_with(&format!("{name}=")), "{err}");
            assert!(err.to_string().contains("expected"), "{err}");
        }
    }

    #[test]
    fn database_url_is_never_echoed() {
        let err =
            config(&[("DATABASE_URL", "mysql://user:hunter2@db/x")]).expect_err("not postgres");
        assert!(!err.to_string().contains("hunter2"));
        let ok = config(&[("DATABASE_URL", "postgres://user:hunter2@db/x")]).expect("postgres URL");
        assert!(!format!("{ok:?}").contains("hunter2"));
    }
}
