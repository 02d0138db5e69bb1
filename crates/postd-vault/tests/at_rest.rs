//! What lands on disk: sealed, bound to its row, rotatable, never in plain text.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::*;
use postd_core::secrecy::ExposeSecret;
use postd_core::{Credentials, ErrorKind, Platform, TokenSet};
use postd_vault::seal::{SealContext, open, seal};
use postd_vault::{AccountStatus, KeyRing, SqliteStore, TokenStore, TokenVault, VaultConfig};

const CANARY: &str = "CANARY_tok_9f8e7d6c5b4a";

#[tokio::test]
async fn the_database_file_never_holds_a_token_in_plain_text() {
    let path = temp_db("canary");
    let store = sqlite(&path).await;
    let vault = TokenVault::new(store.clone(), keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    let creds = Credentials::OAuth(
        TokenSet::new(CANARY)
            .with_refresh_token(format!("{CANARY}_refresh"))
            .with_derived("page", format!("{CANARY}_page")),
    );
    vault
        .store("t", "a", Platform::Meta, &creds, vec![])
        .await
        .unwrap();
    assert_eq!(
        access_of(&vault.credentials("t", "a").await.unwrap()),
        CANARY
    );
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{} holds the token",
                file.display()
            );
        }
    }
    let record = vault.record("t", "a").await.unwrap();
    assert!(!format!("{record:?} {vault:?}").contains(CANARY));
}

#[tokio::test]
async fn the_canary_never_reaches_logs_or_errors_even_at_trace() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || Capture(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(writer)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, endpoint) = token_endpoint(&format!("{CANARY}_refresh")).await;
    let connector = Arc::new(TestConnector::new(&server));
    let vault = TokenVault::new(memory().await, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    vault
        .store(
            "t",
            "a",
            Platform::TikTok,
            &expired(CANARY, &format!("{CANARY}_refresh")),
            vec![],
        )
        .await
        .unwrap();
    // One refresh that works, one that fails, so both paths log.
    let fresh = vault
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    *endpoint.current_refresh.lock().unwrap() = "something-else".to_owned();
    vault
        .store(
            "t",
            "b",
            Platform::TikTok,
            &expired(CANARY, &format!("{CANARY}_refresh")),
            vec![],
        )
        .await
        .unwrap();
    let err = vault
        .fresh_credentials("t", "b", connector.clone())
        .await
        .unwrap_err();
    let texts = [format!("{err}"), format!("{err:?}"), format!("{fresh:?}")];
    for t in &texts {
        assert!(!t.contains(CANARY), "{t}");
    }
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("vault event"),
        "nothing was logged: {logged}"
    );
    assert!(!logged.contains(CANARY), "a token reached the logs");
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_record_moved_to_another_account_does_not_open() {
    let store = memory().await;
    let vault = TokenVault::new(store.clone(), keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    vault
        .store(
            "t",
            "alice",
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new("alice-token")),
            vec![],
        )
        .await
        .unwrap();
    vault
        .store(
            "t",
            "bob",
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new("bob-token")),
            vec![],
        )
        .await
        .unwrap();
    // An attacker with database access copies Alice's sealed credentials onto Bob's row.
    let alice = store.get("t", "alice").await.unwrap().unwrap();
    let mut bob = store.get("t", "bob").await.unwrap().unwrap();
    bob.sealed_credentials = alice.sealed_credentials.clone();
    store.update(&bob).await.unwrap();
    let err = vault.credentials("t", "bob").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unexpected);
    assert!(!err.to_string().contains("alice-token"));
    // The same bytes under another platform or tenant fail too.
    let ctx = |tenant, platform| SealContext {
        tenant,
        account: "alice",
        platform,
        field: "credentials",
    };
    assert!(open(&keys(&[1]), &ctx("t", "meta"), &alice.sealed_credentials).is_ok());
    assert!(
        open(
            &keys(&[1]),
            &ctx("t", "linkedin"),
            &alice.sealed_credentials
        )
        .is_err()
    );
    assert!(open(&keys(&[1]), &ctx("u", "meta"), &alice.sealed_credentials).is_err());
}

#[tokio::test]
async fn rotation_reseals_every_row_online() {
    let path = temp_db("rotation");
    let old = TokenVault::new(sqlite(&path).await, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    for i in 0..250 {
        old.store(
            "t",
            &format!("a{i}"),
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new(format!("tok-{i}"))),
            vec![],
        )
        .await
        .unwrap();
    }
    // Deploy key 2: old rows still open, new rows are sealed with 2.
    let both = TokenVault::new(sqlite(&path).await, keys(&[1, 2]), VaultConfig::default())
        .await
        .unwrap();
    assert_eq!(
        access_of(&both.credentials("t", "a7").await.unwrap()),
        "tok-7"
    );
    let mut events = both.subscribe();
    assert_eq!(both.rotate().await.unwrap(), 250);
    assert!(matches!(
        events.try_recv().unwrap().kind,
        postd_vault::VaultEventKind::Resealed {
            from_key: 1,
            to_key: 2
        }
    ));
    assert_eq!(both.rotate().await.unwrap(), 0);
    // Key 1 can now be retired.
    let new = TokenVault::new(sqlite(&path).await, keys(&[2]), VaultConfig::default())
        .await
        .unwrap();
    for i in [0, 99, 249] {
        assert_eq!(
            access_of(&new.credentials("t", &format!("a{i}")).await.unwrap()),
            format!("tok-{i}")
        );
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(
        store
            .list(&postd_vault::ListFilter::default())
            .await
            .unwrap()
            .iter()
            .all(|r| r.key_id == 2)
    );
}

#[tokio::test]
async fn a_record_whose_key_is_gone_does_not_stop_the_rotation() {
    let store = memory().await;
    let old = TokenVault::new(store.clone(), keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    for i in 0..3 {
        old.store(
            "t",
            &format!("a{i}"),
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new(format!("tok-{i}"))),
            vec![],
        )
        .await
        .unwrap();
    }
    // A record sealed under a key the new deployment does not have.
    let stray = TokenVault::new(store.clone(), keys(&[5]), VaultConfig::default())
        .await
        .unwrap();
    stray
        .store(
            "t",
            "lost",
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new("tok-lost")),
            vec![],
        )
        .await
        .unwrap();

    let both = TokenVault::new(store.clone(), keys(&[1, 2]), VaultConfig::default())
        .await
        .unwrap();
    let err = both.rotate().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("3 records resealed, 1 could not be"),
        "{err}"
    );
    assert!(err.to_string().contains("lost"), "{err}");
    for i in 0..3 {
        let r = both.record("t", &format!("a{i}")).await.unwrap();
        assert_eq!(r.key_id, 2);
    }
    // The stray row is untouched and still opens under its own key.
    assert_eq!(
        access_of(&stray.credentials("t", "lost").await.unwrap()),
        "tok-lost"
    );
}

#[test]
fn nonces_never_repeat_over_a_million_seals() {
    let ring = KeyRing::from_keys([(1, [9u8; 32])]).unwrap();
    let ctx = SealContext {
        tenant: "t",
        account: "a",
        platform: "meta",
        field: "credentials",
    };
    let mut seen = HashSet::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let sealed = seal(&ring, &ctx, b"x").unwrap();
        let nonce: [u8; 24] = sealed[5..29].try_into().unwrap();
        assert!(seen.insert(nonce), "a nonce repeated");
    }
}

#[tokio::test]
async fn no_key_no_start() {
    // SAFETY of the test: the variable is read once, here.
    let err = KeyRing::parse("").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("POSTD_VAULT_KEYS"));
    let vault = TokenVault::new(memory().await, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    vault
        .store(
            "t",
            "a",
            Platform::Meta,
            &Credentials::OAuth(TokenSet::new("x")),
            vec![],
        )
        .await
        .unwrap();
    let record = vault.record("t", "a").await.unwrap();
    assert_eq!(record.status, AccountStatus::Active);
    assert_eq!(record.version, 1);
    let creds = vault.credentials("t", "a").await.unwrap();
    let Credentials::OAuth(t) = creds else {
        panic!()
    };
    assert_eq!(t.access_token.expose_secret(), "x");
}

#[tokio::test]
async fn corrupt_metadata_is_a_permanent_error_naming_the_account_and_field() {
    let path = temp_db("corrupt-columns");
    for (i, (column, value)) in [
        ("expires_at", "'not a time'"),
        ("key_id", "'one'"),
        ("version", "'v2'"),
        ("key_id", "-7"),
        ("status", "'on fire'"),
    ]
    .into_iter()
    .enumerate()
    {
        let store = sqlite(&path).await;
        let vault = TokenVault::new(store.clone(), keys(&[1]), VaultConfig::default())
            .await
            .unwrap();
        let account = format!("acct-{i}");
        vault
            .store(
                "t",
                &account,
                Platform::Meta,
                &Credentials::OAuth(TokenSet::new("a-token")),
                vec![],
            )
            .await
            .unwrap();
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        // The column and value come from the table above, not from input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE postd_vault_accounts SET {column} = {value} WHERE account = ?"
        )))
        .bind(&account)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        let err = vault.credentials("t", &account).await.unwrap_err();
        // Corrupt data does not heal: not the temporary "storage unavailable".
        assert_eq!(err.kind(), ErrorKind::Unexpected, "{column}: {err}");
        assert!(!err.is_temporary(), "{column}");
        let text = err.to_string();
        assert!(text.contains(&account) && text.contains(column), "{text}");
    }
    let _ = std::fs::remove_file(&path);
}
