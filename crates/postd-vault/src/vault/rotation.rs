//! Key rotation: [`TokenVault::rotate`] seals every record not sealed with
//! the newest key again, online.

use postd_core::{Error, ErrorKind, Result};

use super::{AccountKey, TokenVault, ctx, vault_error};
use crate::events::VaultEventKind;
use crate::record::AccountRecord;
use crate::seal::{key_id_of, open, seal};
use crate::store::ListFilter;

impl TokenVault {
    /// Seals every record not sealed with the newest key again, online; returns how many moved.
    ///
    /// A record that cannot be opened (its key was removed too early) does
    /// not stop the others: they all move, then the error names how many
    /// stayed behind and the first of them.
    pub async fn rotate(&self) -> Result<usize> {
        let newest = self.inner.keys.sealing_key_id();
        let mut moved = 0;
        let mut stuck: Vec<(AccountKey, Error)> = Vec::new();
        loop {
            // Stuck rows still match the filter: ask for enough to get past them.
            let filter = ListFilter {
                key_id_not: Some(newest),
                limit: Some(100 + stuck.len()),
                ..ListFilter::default()
            };
            let batch: Vec<AccountRecord> = self
                .inner
                .store
                .list(&filter)
                .await?
                .into_iter()
                .filter(|r| {
                    !stuck
                        .iter()
                        .any(|((t, a), _)| *t == r.tenant && *a == r.account)
                })
                .collect();
            if batch.is_empty() {
                break;
            }
            for r in batch {
                let from = key_id_of(&r.sealed_credentials).unwrap_or(r.key_id);
                // The plaintext moves as it is, byte for byte.
                let resealed = self
                    .update_with(&r.tenant, &r.account, |rec| {
                        let plain = open(&self.inner.keys, &ctx(rec), &rec.sealed_credentials)?;
                        rec.sealed_credentials = seal(&self.inner.keys, &ctx(rec), &plain)?;
                        rec.key_id = newest;
                        Ok(())
                    })
                    .await;
                match resealed {
                    Ok(record) => {
                        moved += 1;
                        self.emit(
                            &record,
                            VaultEventKind::Resealed {
                                from_key: from,
                                to_key: newest,
                            },
                        );
                    }
                    // Deleted since the listing: nothing left to move.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(tenant = %r.tenant, account = %r.account, kind = e.kind().as_str(), "cannot reseal a record");
                        stuck.push(((r.tenant, r.account), e));
                    }
                }
            }
        }
        match stuck.first() {
            None => Ok(moved),
            Some(((tenant, account), e)) => Err(vault_error(
                e.kind(),
                format!(
                    "{moved} records resealed, {} could not be (first: tenant {tenant}, account {account}: {})",
                    stuck.len(),
                    e.message()
                ),
            )),
        }
    }
}
