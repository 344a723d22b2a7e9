#![doc = include_str!("../README.md")]

mod browser;
mod ehr_launch;
mod flows;
pub mod launcher;
mod profile;
mod refusals;
mod report;
mod sandbox;
mod transcript;
mod udap_flow;

pub use browser::Browser;
pub use ehr_launch::EhrLaunchRecipe;
pub use flows::{DISCOVERY_STEP, run_all};
pub use profile::{AppClient, BackendClient, Profile};
pub use report::{Finding, Outcome, Report};
pub use sandbox::sandbox_profile;
pub use transcript::Transcript;
pub use udap_flow::UdapProfile;
