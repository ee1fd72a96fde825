//! Staff accounts, sign-in with lockout, sessions and CSRF tokens.
//!
//! - Passwords are hashed with argon2id (PHC strings); an unknown account still costs one
//!   argon2 verification, so timing does not tell which accounts exist.
//! - `console.lockout_attempts` failures in a row lock an account for `console.lockout_minutes`;
//!   while locked even the right password is refused.
//! - A session id is 256 random bits (base64url in the cookie); only its SHA-256 is stored.
//! - Each session has its own CSRF token (synchronizer pattern) that every POST must carry.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};

use super::audit::{self, AuditAction};

pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Reviewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}` (reviewer or admin)")),
        }
    }
}

/// A signed-in (or CLI-named) staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub role: Role,
}

/// A valid session: who, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub staff: Staff,
    pub csrf_token: String,
}

/// 32 random bytes, base64url without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn session_hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// Constant-time string comparison (tokens).
pub fn tokens_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A real argon2id hash of a random password, verified against when the account is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).expect("argon2 works"))
}

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn row_staff(row: &sqlx::postgres::PgRow) -> sqlx::Result<Staff> {
    let role: String = row.try_get("role")?;
    Ok(Staff {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: role.parse().unwrap_or(Role::Reviewer),
    })
}

/// Adds a staff account (`dsr-worker staff add`); `actor` is recorded in the audit log.
pub async fn add_staff(
    pool: &PgPool,
    email: &str,
    role: Role,
    password: &str,
    actor: &str,
) -> anyhow::Result<Staff> {
    let email = normalise_email(email);
    if email.parse::<lettre::Address>().is_err() {
        anyhow::bail!("`{email}` is not an e-mail address");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        anyhow::bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    let hash = hash_password(password)?;
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "INSERT INTO staff (email, role, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (lower(email)) DO NOTHING RETURNING id, email, role",
    )
    .bind(&email)
    .bind(role.as_str())
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        anyhow::bail!("a staff account for this address already exists");
    };
    let staff = row_staff(&row)?;
    audit::append(
        &mut tx,
        actor,
        AuditAction::StaffAdded,
        None,
        serde_json::json!({}),
        serde_json::json!({ "staff_id": staff.id, "email": staff.email, "role": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(staff)
}

/// Deactivates an account and ends its sessions (`dsr-worker staff deactivate`).
pub async fn deactivate_staff(pool: &PgPool, email: &str, actor: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE staff SET active = false WHERE lower(email) = $1 AND active RETURNING id",
    )
    .bind(normalise_email(email))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        anyhow::bail!("no active staff account with that address");
    };
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        AuditAction::StaffDeactivated,
        None,
        serde_json::json!({ "staff_id": id, "active": true }),
        serde_json::json!({ "staff_id": id, "active": false }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An active staff member by e-mail (the CLI's `--as`).
pub async fn find_staff(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<Staff>> {
    let row = sqlx::query("SELECT id, email, role FROM staff WHERE lower(email) = $1 AND active")
        .bind(normalise_email(email))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_staff).transpose()
}

#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub lockout_attempts: u32,
    pub lockout_minutes: u64,
    pub session_minutes: u64,
}

#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: the cookie value (never stored in clear) and the session.
    Success { cookie: String, session: Session },
    /// Wrong address or password (the two are not told apart).
    Invalid,
    /// Too many failures; try again after this time.
    Locked { until: DateTime<Utc> },
}

/// Checks a password and opens a session.
pub async fn login(
    pool: &PgPool,
    email: &str,
    password: &str,
    policy: LoginPolicy,
) -> anyhow::Result<LoginOutcome> {
    let email = normalise_email(email);
    let row = sqlx::query(
        "SELECT id, email, role, password_hash, locked_until FROM staff
         WHERE lower(email) = $1 AND active",
    )
    .bind(&email)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || verify_password(&password, dummy_hash())).await?;
        record_attempt(pool, &email, None, false, "unknown account").await?;
        return Ok(LoginOutcome::Invalid);
    };
    let staff = row_staff(&row)?;
    let phc: String = row.try_get("password_hash")?;
    let locked_until: Option<DateTime<Utc>> = row.try_get("locked_until")?;
    let ok = {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await?
    };
    if let Some(until) = locked_until.filter(|u| *u > Utc::now()) {
        record_attempt(pool, &email, Some(staff.id), false, "locked").await?;
        return Ok(LoginOutcome::Locked { until });
    }
    if !ok {
        let until: Option<DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE staff SET
                failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
                locked_until = CASE WHEN failed_logins + 1 >= $2
                                    THEN now() + make_interval(mins => $3) ELSE locked_until END
             WHERE id = $1 RETURNING locked_until",
        )
        .bind(staff.id)
        .bind(policy.lockout_attempts as i32)
        .bind(policy.lockout_minutes as i32)
        .fetch_one(pool)
        .await?;
        record_attempt(pool, &email, Some(staff.id), false, "wrong password").await?;
        if let Some(until) = until.filter(|u| *u > Utc::now()) {
            tracing::warn!(
                staff_id = staff.id,
                "console: account locked after failed logins"
            );
            return Ok(LoginOutcome::Locked { until });
        }
        return Ok(LoginOutcome::Invalid);
    }
    let cookie = random_token();
    let csrf_token = random_token();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL, last_login_at = now()
         WHERE id = $1",
    )
    .bind(staff.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, staff_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(mins => $4))",
    )
    .bind(session_hash(&cookie))
    .bind(staff.id)
    .bind(&csrf_token)
    .bind(policy.session_minutes as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM staff_sessions WHERE expires_at < now()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    record_attempt(pool, &email, Some(staff.id), true, "signed in").await?;
    Ok(LoginOutcome::Success {
        cookie,
        session: Session { staff, csrf_token },
    })
}

async fn record_attempt(
    pool: &PgPool,
    email: &str,
    staff_id: Option<i64>,
    success: bool,
    outcome: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO staff_login_attempts (email, staff_id, success, outcome)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(email)
    .bind(staff_id)
    .bind(success)
    .bind(outcome)
    .execute(pool)
    .await?;
    Ok(())
}

/// The session a cookie value belongs to, if it is valid and its account active.
pub async fn session(pool: &PgPool, cookie: &str) -> sqlx::Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT s.id, s.email, s.role, x.csrf_token FROM staff_sessions x
         JOIN staff s ON s.id = x.staff_id
         WHERE x.id_hash = $1 AND x.expires_at > now() AND s.active",
    )
    .bind(session_hash(cookie))
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Session {
            staff: row_staff(&row)?,
            csrf_token: row.try_get("csrf_token")?,
        })
    })
    .transpose()
}

pub async fn logout(pool: &PgPool, cookie: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
        .bind(session_hash(cookie))
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let started = std::time::Instant::now();
        let h = hash_password("correct horse battery").unwrap();
        eprintln!("argon2id hash: {:?}", started.elapsed());
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn tokens_are_256_bit_and_compare() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &random_token()));
        assert!(!tokens_equal(&a, "short"));
    }
}
