//! The connector of each platform app.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use postd_core::{Connector, Error, Platform, Result};
use postd_manager::ConnectorManager;
use postd_vault::DEFAULT_APP;

/// The connectors the engine publishes through, one per `(platform, app)`.
///
/// An account belongs to the app (client credentials) it was authorized
/// with, so a service can run several apps per platform: tenants that bring
/// their own TikTok or X app, a staging and a production Meta app.
#[derive(Clone, Default)]
pub struct Connectors {
    by_app: BTreeMap<(Platform, String), Arc<dyn Connector>>,
}

impl fmt::Debug for Connectors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .by_app
            .keys()
            .map(|(p, a)| format!("{p}/{a}"))
            .collect();
        f.debug_struct("Connectors").field("apps", &keys).finish()
    }
}

impl Connectors {
    /// No connectors yet.
    pub fn new() -> Self {
        Connectors::default()
    }

    /// Adds the connector of `platform`'s `app`.
    pub fn with(
        mut self,
        platform: Platform,
        app: impl Into<String>,
        connector: Arc<dyn Connector>,
    ) -> Self {
        self.by_app.insert((platform, app.into()), connector);
        self
    }

    /// Adds every ready connector of `manager` as `app`'s.
    pub fn with_manager(mut self, app: &str, manager: &ConnectorManager) -> Self {
        for platform in manager.ready() {
            if let Ok(c) = manager.connector(platform) {
                self.by_app.insert((platform, app.to_owned()), c);
            }
        }
        self
    }

    /// Every ready connector of `manager`, as the default app's.
    pub fn from_manager(manager: &ConnectorManager) -> Self {
        Connectors::new().with_manager(DEFAULT_APP, manager)
    }

    /// The connector of `platform`'s `app`, if the engine has it.
    pub fn get(&self, platform: Platform, app: &str) -> Option<Arc<dyn Connector>> {
        self.by_app.get(&(platform, app.to_owned())).cloned()
    }

    /// The connector, or a `Config` error naming what is missing.
    pub fn require(&self, platform: Platform, app: &str) -> Result<Arc<dyn Connector>> {
        self.get(platform, app).ok_or_else(|| {
            Error::config(format!(
                "the engine has no connector for {platform} app {app:?}; add it with Connectors::with or with_manager"
            ))
        })
    }

    /// Every platform app the engine has.
    pub fn apps(&self) -> impl Iterator<Item = (Platform, &str)> {
        self.by_app.keys().map(|(p, a)| (*p, a.as_str()))
    }
}
