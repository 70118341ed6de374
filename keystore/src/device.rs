//! The device itself (its identity, keys and pairing), one `wa_devices` row per account, as JSON:
//! `Device`'s own serde form, which round-trips every persisted field.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::status::Provider;
use entity::wa_devices;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};
use wacore::{
    client_profile::ClientProfile,
    store::{
        Device,
        device::DEVICE_PROPS,
        error::{Result, StoreError},
        traits::DeviceStore,
    },
};

use crate::{
    DbBackend,
    codec::{from_json, to_json},
    table::db_err,
};

impl DbBackend {
    /// The account's row, if it holds a WhatsApp Web device. Credentials another provider wrote
    /// are an error, not a device to overwrite.
    async fn device_row(&self) -> Result<Option<wa_devices::Model>> {
        let row = wa_devices::Entity::find_by_id(self.account_id)
            .one(&self.db)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) if row.provider != Provider::Web => Err(StoreError::Validation(format!(
                "account {} holds {} credentials, not a WhatsApp Web device",
                self.account_id, row.provider
            ))),
            row => Ok(row),
        }
    }

    /// Inserts the device, or (with `replace`) overwrites the stored one.
    async fn write_device(&self, device: &Device, replace: bool) -> Result<()> {
        let _open = self.fence.enter().await?;
        write_row(
            &self.db,
            self.account_id,
            Provider::Web,
            to_json(device)?,
            replace,
        )
        .await
        .map_err(db_err)
    }
}

/// Stores `data` as the account's credentials, written by `provider`: inserts the row, or (with
/// `replace`) overwrites the stored one. The only statement that writes `wa_devices`, whichever
/// provider the credentials are for.
pub(crate) async fn write_row(
    db: &impl ConnectionTrait,
    account_id: i64,
    provider: Provider,
    data: Vec<u8>,
    replace: bool,
) -> std::result::Result<(), DbErr> {
    let now = Utc::now();
    let row = wa_devices::ActiveModel {
        account_id: Set(account_id),
        provider: Set(provider),
        data: Set(data),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut on_conflict = OnConflict::column(wa_devices::Column::AccountId);
    if replace {
        on_conflict.update_columns([
            wa_devices::Column::Provider,
            wa_devices::Column::Data,
            wa_devices::Column::UpdatedAt,
        ]);
    } else {
        on_conflict.do_nothing();
    }
    wa_devices::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

#[async_trait]
impl DeviceStore for DbBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        self.write_device(device, true).await
    }

    /// The runtime-only fields serde skips start as a fresh device's; whatsapp-rust sets them
    /// again before it connects.
    async fn load(&self) -> Result<Option<Device>> {
        let Some(row) = self.device_row().await? else {
            return Ok(None);
        };
        let mut device: Device = from_json(&row.data)?;
        device.device_props = Arc::new(DEVICE_PROPS.clone());
        device.client_profile = ClientProfile::web();
        Ok(Some(device))
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.device_row().await?.is_some())
    }

    /// Stores a fresh device unless one is stored. The id is the account's: one device each
    /// (whatsapp-rust only logs it).
    async fn create(&self) -> Result<i32> {
        self.write_device(&Device::new(), false).await?;
        i32::try_from(self.account_id).map_err(|_| {
            StoreError::Validation(format!(
                "account id {} exceeds a device id",
                self.account_id
            ))
        })
    }
}
