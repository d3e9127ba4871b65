//! The emulator with the local Azure plane in-process, for tests (ours, and users' own): from
//! a YAML file's text, in memory, on loopback, with the `CONNECT` front for vault hosts.

use std::path::Path;

use wif_sts::{Emulator, EmulatorError, LocalEmulator};

use crate::plane::{AzurePlane, PlaneHandle};
use crate::store::InvalidConfig;

/// Why a test emulator did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// The YAML is not the emulator's file.
    #[error("the YAML is not the emulator's file")]
    Yaml(#[from] Box<serde_saphyr::Error>),
    /// The file breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidConfig),
    /// It did not start.
    #[error(transparent)]
    Start(#[from] EmulatorError),
}

/// The emulator of `yaml` (relative paths resolved against `base_dir`) with the plane beside
/// it, its state in memory; and the plane's handle.
pub async fn start(yaml: &str, base_dir: &Path) -> Result<(LocalEmulator, PlaneHandle), TestingError> {
    let config = serde_saphyr::from_str(yaml).map_err(Box::new)?;
    let (directory, plane) = AzurePlane::new(config, base_dir.to_path_buf(), None)?;
    let handle = plane.handle();
    let emulator = Emulator::new(directory).plane(plane).start_local().await?;
    Ok((emulator, handle))
}
