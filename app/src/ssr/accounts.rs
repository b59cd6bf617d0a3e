//! Customer and staff accounts: argon2id password hashes (OWASP parameters, computed on the
//! blocking pool so sign-ins never stall the async threads) and the session keys that say who
//! is signed in. Sessions themselves are tower-sessions rows in PostgreSQL.

use crate::model::CurrentUser;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use sqlx::PgPool;
use tower_sessions::Session;
use uuid::Uuid;

/// Session key of the signed-in user's id.
pub const USER_KEY: &str = "user_id";
/// Session key of the cart token (the held order of this browser).
pub const CART_KEY: &str = "cart";

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 iterations, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>, AccountError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .map_err(|err| AccountError::Hash(err.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("An account with this email address exists already. Please sign in instead.")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the session store failed: {0}")]
    Session(String),
}

impl From<tower_sessions::session::Error> for AccountError {
    fn from(err: tower_sessions::session::Error) -> Self {
        AccountError::Session(err.to_string())
    }
}

/// Hashes on the blocking pool (argon2id takes tens of milliseconds by design).
pub async fn hash_password(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| AccountError::Hash(err.to_string()))
    })
    .await
    .map_err(|err| AccountError::Hash(err.to_string()))?
}

/// Checks a password against a stored hash on the blocking pool.
pub async fn verify_password(password: String, stored: String) -> Result<bool, AccountError> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&stored).map_err(|err| AccountError::Hash(err.to_string()))?;
        Ok(argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|err| AccountError::Hash(err.to_string()))?
}

/// A hash of a random password, verified against when the email is unknown so a failed
/// sign-in takes as long whether or not the account exists.
async fn decoy_hash() -> Result<String, AccountError> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_try_init(|| hash_password(Uuid::new_v4().to_string()))
        .await
        .cloned()
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    email: String,
    role: String,
    password_hash: String,
}

impl From<UserRow> for CurrentUser {
    fn from(row: UserRow) -> Self {
        CurrentUser {
            id: row.id,
            name: row.name,
            email: row.email,
            is_staff: row.role == "staff",
        }
    }
}

/// Creates an account; the email is unique without regard to case.
pub async fn create_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    password: &str,
    staff: bool,
) -> Result<CurrentUser, AccountError> {
    let hash = hash_password(password.to_owned()).await?;
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (lower(email)) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(hash)
    .bind(if staff { "staff" } else { "customer" })
    .fetch_optional(pool)
    .await?;
    let (id,) = row.ok_or(AccountError::EmailTaken)?;
    Ok(CurrentUser {
        id,
        name: name.to_owned(),
        email: email.to_owned(),
        is_staff: staff,
    })
}

/// The account for `email` if `password` is right; `None` otherwise (which one was wrong is
/// never told).
pub async fn authenticate(
    pool: &PgPool,
    email: &str,
    password: &str,
) -> Result<Option<CurrentUser>, AccountError> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, name, email, role, password_hash FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    let stored = match &row {
        Some(row) => row.password_hash.clone(),
        None => decoy_hash().await?,
    };
    let matches = verify_password(password.to_owned(), stored).await?;
    Ok(row.filter(|_| matches).map(CurrentUser::from))
}

pub async fn user_by_id(pool: &PgPool, id: i64) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, name, email, role, password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(CurrentUser::from))
}

/// Signs `user` in on this session: a new session id (so a planted id is worthless), the
/// session's cart kept, and the cart handed to the account.
pub async fn sign_in(
    session: &Session,
    pool: &PgPool,
    user: &CurrentUser,
) -> Result<(), AccountError> {
    session.cycle_id().await?;
    session.insert(USER_KEY, user.id).await?;
    if let Some(cart) = session.get::<Uuid>(CART_KEY).await? {
        sqlx::query(
            "UPDATE orders SET customer_id = $2 WHERE cart_token = $1 AND state = 'held'
               AND (customer_id IS NULL OR customer_id = $2)",
        )
        .bind(cart)
        .bind(user.id)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Ends the session: its row is deleted, so the old cookie is worth nothing.
pub async fn sign_out(session: &Session) -> Result<(), AccountError> {
    session.flush().await?;
    Ok(())
}

/// The signed-in user of this session, if any.
pub async fn session_user(
    session: &Session,
    pool: &PgPool,
) -> Result<Option<CurrentUser>, AccountError> {
    let Some(id) = session.get::<i64>(USER_KEY).await? else {
        return Ok(None);
    };
    Ok(user_by_id(pool, id).await?)
}

/// This session's cart token, made on first use.
pub async fn cart_token(session: &Session) -> Result<Uuid, AccountError> {
    if let Some(token) = session.get::<Uuid>(CART_KEY).await? {
        return Ok(token);
    }
    let token = Uuid::new_v4();
    session.insert(CART_KEY, token).await?;
    Ok(token)
}

/// Checks what a person typed when signing up; the message names the field to fix.
pub fn check_sign_up(
    email: &str,
    name: &str,
    password: &str,
) -> Result<(), (&'static str, String)> {
    let email_ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !email_ok {
        return Err((
            "email",
            "Please enter an email address like name@example.com.".into(),
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err((
            "name",
            "Please enter your name (up to 100 characters).".into(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err((
            "name",
            "Please write your name without control characters.".into(),
        ));
    }
    let length = password.chars().count();
    if length < 10 {
        return Err((
            "password",
            "Please choose a password of at least 10 characters.".into(),
        ));
    }
    if length > 200 {
        return Err((
            "password",
            "Passwords can be up to 200 characters long.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_up_input_is_checked_field_by_field() {
        assert!(check_sign_up("ann@example.com", "Ann", "a long password").is_ok());
        assert_eq!(
            check_sign_up("ann@", "Ann", "a long password")
                .unwrap_err()
                .0,
            "email"
        );
        assert_eq!(
            check_sign_up("ann example.com", "Ann", "a long password")
                .unwrap_err()
                .0,
            "email"
        );
        assert_eq!(
            check_sign_up("a b@example.com", "Ann", "a long password")
                .unwrap_err()
                .0,
            "email"
        );
        assert_eq!(
            check_sign_up("ann@example.com", " ", "a long password")
                .unwrap_err()
                .0,
            "name"
        );
        assert_eq!(
            check_sign_up("ann@example.com", "Ann", "short")
                .unwrap_err()
                .0,
            "password"
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse battery".into(), hash)
            .await
            .unwrap());
    }
}
