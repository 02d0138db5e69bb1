//! Manager behaviour: feature gating, scaffold refusals, missing variables.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::{ErrorKind, Platform};
use postd_manager::{ConnectorManager, ConnectorStatus};

#[cfg(feature = "mailchimp")]
#[test]
fn mailchimp_is_ready_without_variables_and_refuses_bad_ones() {
    // API keys come from the vault: nothing is required.
    let m = ConnectorManager::builder().build().unwrap();
    assert_eq!(m.status(Platform::Mailchimp), ConnectorStatus::Ready);
    assert!(m.capabilities(Platform::Mailchimp).unwrap().implemented);
    let m = ConnectorManager::builder()
        .var("MAILCHIMP_MAX_CONCURRENCY", "50")
        .build()
        .unwrap();
    let err = m.connector(Platform::Mailchimp).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("MAILCHIMP_MAX_CONCURRENCY"),
        "{err}"
    );
}

#[cfg(feature = "tiktok")]
#[test]
fn tiktok_is_ready_once_configured_and_names_its_missing_variables() {
    let m = ConnectorManager::builder()
        .sandbox_defaults()
        .build()
        .unwrap();
    assert_eq!(m.status(Platform::TikTok), ConnectorStatus::Ready);
    assert!(m.capabilities(Platform::TikTok).unwrap().implemented);
    let m = ConnectorManager::builder()
        .var("TIKTOK_CLIENT_KEY", "k")
        .build()
        .unwrap();
    let err = m.connector(Platform::TikTok).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("TIKTOK_CLIENT_SECRET"), "{err}");
}

#[cfg(feature = "gbp")]
#[test]
fn gbp_is_ready_once_configured_and_names_its_missing_variable() {
    let m = ConnectorManager::builder()
        .sandbox_defaults()
        .build()
        .unwrap();
    assert_eq!(m.status(Platform::Gbp), ConnectorStatus::Ready);
    assert!(m.capabilities(Platform::Gbp).unwrap().implemented);
    let m = ConnectorManager::builder()
        .var("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
        .build()
        .unwrap();
    let err = m.connector(Platform::Gbp).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("GOOGLE_CLIENT_SECRET"), "{err}");
}

#[cfg(feature = "twitter")]
#[test]
fn x_is_ready_once_configured_and_names_its_missing_variable() {
    let m = ConnectorManager::builder()
        .sandbox_defaults()
        .build()
        .unwrap();
    assert_eq!(m.status(Platform::Twitter), ConnectorStatus::Ready);
    assert!(m.capabilities(Platform::Twitter).unwrap().implemented);
    let m = ConnectorManager::builder().build().unwrap();
    let err = m.connector(Platform::Twitter).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("X_CLIENT_ID"), "{err}");
}

#[test]
fn disabled_features_name_the_feature() {
    let m = ConnectorManager::builder()
        .sandbox_defaults()
        .build()
        .unwrap();
    for platform in Platform::ALL {
        let compiled = match platform {
            Platform::Meta => cfg!(feature = "meta"),
            Platform::LinkedIn => cfg!(feature = "linkedin"),
            Platform::TikTok => cfg!(feature = "tiktok"),
            Platform::Gbp => cfg!(feature = "gbp"),
            Platform::Mailchimp => cfg!(feature = "mailchimp"),
            Platform::Twitter => cfg!(feature = "twitter"),
            _ => unreachable!(),
        };
        if compiled {
            assert_ne!(m.status(platform), ConnectorStatus::FeatureDisabled);
        } else {
            assert_eq!(m.status(platform), ConnectorStatus::FeatureDisabled);
            let err = m.connector(platform).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string()
                    .contains(&format!("`{}` cargo feature", platform.feature())),
                "{err}"
            );
            assert!(m.capabilities(platform).is_none());
        }
    }
}

#[cfg(feature = "meta")]
#[test]
fn missing_meta_variables_are_named() {
    let m = ConnectorManager::builder().build().unwrap();
    let err = m.connector(Platform::Meta).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("META_CLIENT_ID is not set"),
        "{err}"
    );

    let m = ConnectorManager::builder()
        .var("META_CLIENT_ID", "1")
        .build()
        .unwrap();
    let err = m.connector(Platform::Meta).unwrap_err();
    assert!(
        err.to_string().contains("META_CLIENT_SECRET is not set"),
        "{err}"
    );
    assert!(
        matches!(m.status(Platform::Meta), ConnectorStatus::NotConfigured { reason } if reason.contains("META_CLIENT_SECRET"))
    );
}

#[cfg(feature = "linkedin")]
#[test]
fn missing_linkedin_variables_are_named() {
    let m = ConnectorManager::builder()
        .var("LINKEDIN_CLIENT_SECRET", "s")
        .build()
        .unwrap();
    let err = m.connector(Platform::LinkedIn).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("LINKEDIN_CLIENT_ID is not set"),
        "{err}"
    );
}

#[cfg(feature = "meta")]
#[test]
fn invalid_base_url_is_a_config_error_naming_the_variable() {
    let m = ConnectorManager::builder()
        .sandbox_defaults()
        .var("META_BASE_URL", "ftp://nope")
        .build()
        .unwrap();
    let err = m.connector(Platform::Meta).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("META_BASE_URL"), "{err}");
}

#[test]
fn debug_lists_statuses_without_secrets() {
    let m = ConnectorManager::builder()
        .var("META_CLIENT_ID", "1")
        .var("META_CLIENT_SECRET", "CANARY_secret_value")
        .var("LINKEDIN_CLIENT_SECRET", "CANARY_secret_value")
        .build()
        .unwrap();
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("CANARY"), "{dbg}");
    assert!(dbg.contains("Meta"));
}
