//! What `wif demo`'s steps share: the sample identities, the printer, the runtime and what
//! earlier steps left for later ones (the issuer, the emulator, the projected token, the pod's
//! environment).

use anyhow::Result;

/// Tenants and client ids of the sample directory.
pub const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
/// The writer's tenant.
pub const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
/// The reader application's client id.
pub const READER_CLIENT: &str = "11111111-0000-4000-8000-000000000001";
/// The writer application's client id.
pub const WRITER_CLIENT: &str = "22222222-0000-4000-8000-000000000002";

/// Prints a step's words, or only its title and outcome (`--quiet`).
pub(crate) struct Printer {
    pub(super) quiet: bool,
}

impl Printer {
    pub(super) fn title(&self, n: usize, text: &str) {
        println!("\n== step {n}: {text}");
    }
    pub(crate) fn say(&self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }
    pub(crate) fn block(&self, text: &str) {
        if !self.quiet {
            for line in text.lines() {
                println!("    {line}");
            }
        }
    }
}

/// What the steps share: the runtime, and what earlier steps set up for later ones.
pub struct DemoContext {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) issuer: Option<wif_issuer::LocalIssuer>,
    pub(crate) sts: Option<super::servers::RunningSts>,
    pub(crate) projected_token: Option<String>,
    pub(crate) pod_env: std::collections::HashMap<String, String>,
}

impl DemoContext {
    pub(super) fn new() -> Result<Self> {
        let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
        Ok(DemoContext {
            runtime,
            issuer: None,
            sts: None,
            projected_token: None,
            pod_env: std::collections::HashMap::new(),
        })
    }
}

/// One step of the demo.
pub(super) type Step = fn(&Printer, &mut DemoContext) -> Result<()>;

/// An application whose credential names the wrong namespace.
pub const TYPO_CLIENT: &str = "33333333-0000-4000-8000-000000000003";

/// The demo pod's environment, as an [`wif_core::settings::EnvSource`].
pub(crate) struct DemoEnv(pub(crate) std::collections::HashMap<String, String>);

impl wif_core::settings::EnvSource for DemoEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
