//! Users, organisations and tokens.
//!
//! A namespace is a user or an organisation (one name space for both, like the Hub); an
//! organisation has members (users). A token belongs to a user and is `read` or `write`; only its
//! SHA-256 (hex) is stored, so a copy of the database gives no usable token. A token is `hf_`
//! followed by 40 random base-62 characters (238 bits from the OS's random source).

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::Error as IdentityError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read only: every mutation is refused with 403.
    Read,
    /// Read and write.
    Write,
}

impl Role {
    /// `read` or `write` (the Hub's `auth.accessToken.role`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
        }
    }
}

/// The caller behind a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's name.
    pub user: String,
    /// The user's full name.
    pub fullname: String,
    /// The organisations the user belongs to, by name.
    pub orgs: Vec<String>,
    /// What the token may do.
    pub role: Role,
    /// The token's display name.
    pub token_name: String,
}

impl Principal {
    /// Whether the caller may act for `namespace`: it is the user, or one of the user's orgs.
    pub fn acts_for(&self, namespace: &str) -> bool {
        self.user == namespace || self.orgs.iter().any(|o| o == namespace)
    }
}

/// Hex SHA-256 of a token: what is stored, and the rate limiter's key.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_name(name: &str) -> Result<(), IdentityError> {
    spaces_core::SpaceId::from_parts(name, "x")
        .map(|_| ())
        .map_err(|e| IdentityError::InvalidName {
            name: name.to_owned(),
            why: e.to_string(),
        })
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl Db {
    /// The kind of a namespace (`user` or `org`), if it exists.
    pub fn namespace_kind(&self, name: &str) -> Result<Option<String>, IdentityError> {
        self.conn()
            .query_row(
                "SELECT kind FROM server_namespaces WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading a namespace"))
    }

    /// Adds a user (nothing when it exists) and makes it a member of `orgs`, creating the
    /// organisations that do not exist. All in one transaction.
    pub fn add_user(&self, name: &str, orgs: &[String]) -> Result<(), IdentityError> {
        check_name(name)?;
        for org in orgs {
            check_name(org)?;
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(self.err("starting a transaction"))?;
        let kind_of = |n: &str| -> Result<Option<String>, IdentityError> {
            tx.query_row(
                "SELECT kind FROM server_namespaces WHERE name = ?1",
                [n],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading a namespace"))
        };
        match kind_of(name)?.as_deref() {
            Some("org") => {
                return Err(IdentityError::NameTaken {
                    name: name.to_owned(),
                    kind: "organisation",
                })
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO server_namespaces (name, kind, fullname, created_at) VALUES (?1, 'user', ?1, ?2)",
                    params![name, now()],
                )
                .map_err(self.err("adding a user"))?;
            }
        }
        for org in orgs {
            match kind_of(org)?.as_deref() {
                Some("user") => {
                    return Err(IdentityError::NameTaken {
                        name: org.clone(),
                        kind: "user",
                    })
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO server_namespaces (name, kind, fullname, created_at) VALUES (?1, 'org', ?1, ?2)",
                        params![org, now()],
                    )
                    .map_err(self.err("adding an organisation"))?;
                }
            }
            tx.execute(
                "INSERT OR IGNORE INTO server_members (org, user) VALUES (?1, ?2)",
                params![org, name],
            )
            .map_err(self.err("adding a member"))?;
        }
        tx.commit().map_err(self.err("committing"))?;
        Ok(())
    }

    /// Creates a token for a user and returns it (the only time it is seen).
    pub fn create_token(&self, user: &str, role: Role) -> Result<String, IdentityError> {
        if self.namespace_kind(user)?.as_deref() != Some("user") {
            return Err(IdentityError::UnknownUser {
                name: user.to_owned(),
            });
        }
        let token = new_token()?;
        let display = format!("{}-{}", user, &token_hash(&token)[..8]);
        self.conn()
            .execute(
                "INSERT INTO server_tokens (hash, user, role, display_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash(&token), user, role.as_str(), display, now()],
            )
            .map_err(self.err("storing a token"))?;
        Ok(token)
    }

    /// The principal behind a token, or `None` for an unknown token.
    pub fn principal(&self, token: &str) -> Result<Option<Principal>, IdentityError> {
        let conn = self.conn();
        let row: Option<(String, String, String, String)> = conn
            .query_row(
                "SELECT t.user, t.role, t.display_name, n.fullname FROM server_tokens t \
                 JOIN server_namespaces n ON n.name = t.user WHERE t.hash = ?1",
                [token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.err("reading a token"))?;
        let Some((user, role, token_name, fullname)) = row else {
            return Ok(None);
        };
        let mut stmt = conn
            .prepare_cached("SELECT org FROM server_members WHERE user = ?1 ORDER BY org")
            .map_err(self.err("reading memberships"))?;
        let orgs = stmt
            .query_map([&user], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(self.err("reading memberships"))?;
        Ok(Some(Principal {
            user,
            fullname,
            orgs,
            role: if role == "write" {
                Role::Write
            } else {
                Role::Read
            },
            token_name,
        }))
    }
}

/// `hf_` and 40 base-62 characters from the OS's random source.
fn new_token() -> Result<String, IdentityError> {
    random_token("hf_").ok_or_else(|| IdentityError::Random("the OS's random source failed".into()))
}

/// `prefix` and 40 base-62 characters from the OS's random source (`None` when it fails).
pub(crate) fn random_token(prefix: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let len = prefix.len() + 40;
    let mut out = String::from(prefix);
    while out.len() < len {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).ok()?;
        // 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
        for b in bytes.iter().filter(|b| **b < 248) {
            if out.len() < len {
                out.push(char::from(ALPHABET[usize::from(*b % 62)]));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_orgs_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.add_user("alice", &["acme".into()]).unwrap();
        db.add_user("alice", &["acme".into(), "beta".into()])
            .unwrap();
        assert!(matches!(
            db.add_user("acme", &[]),
            Err(IdentityError::NameTaken { .. })
        ));
        assert!(matches!(
            db.add_user("bob", &["alice".into()]),
            Err(IdentityError::NameTaken { .. })
        ));
        assert!(db.add_user("-bad", &[]).is_err());
        let t = db.create_token("alice", Role::Read).unwrap();
        assert!(t.starts_with("hf_") && t.len() == 43);
        let p = db.principal(&t).unwrap().unwrap();
        assert_eq!(p.orgs, vec!["acme".to_owned(), "beta".to_owned()]);
        assert_eq!(p.role, Role::Read);
        assert!(p.acts_for("acme") && !p.acts_for("bob"));
        assert!(db.principal("hf_nope").unwrap().is_none());
        assert!(db.create_token("acme", Role::Write).is_err());
        let stored: String = db
            .conn()
            .query_row("SELECT hash FROM server_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, token_hash(&t));
    }
}
