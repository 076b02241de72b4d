//! A CycloneDX bill of materials of the packages in the root `Cargo.lock`.

use crate::finding::Scanner;
use crate::scan::{SbomDocument, ScanContext, ScanOutput};
use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::external_models::uri::Purl;
use cyclonedx_bom::models::bom::{Bom, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::tool::{Tool, Tools};
use rustsec::Lockfile;
use sha2::{Digest, Sha256};

pub fn scan(context: &ScanContext) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Sbom);
    let lock_path = if context.root.is_file() {
        context.root.clone()
    } else {
        context.root.join("Cargo.lock")
    };
    if !lock_path.exists() {
        output
            .notes
            .push("no Cargo.lock at the root: no SBOM written".to_string());
        return output;
    }
    let text = match std::fs::read_to_string(&lock_path) {
        Ok(text) => text,
        Err(error) => {
            return ScanOutput::failed(Scanner::Sbom, format!("{}: {error}", lock_path.display()))
        }
    };
    let lockfile: Lockfile = match text.parse() {
        Ok(lockfile) => lockfile,
        Err(error) => {
            return ScanOutput::failed(
                Scanner::Sbom,
                format!("{}: not a valid Cargo.lock: {error}", lock_path.display()),
            )
        }
    };
    match build(&lockfile) {
        Ok(document) => {
            output.notes.push(format!(
                "{} components from Cargo.lock (licenses need cargo metadata: not yet included)",
                document.component_count
            ));
            output.sbom = Some(document);
        }
        Err(error) => output.error = Some(error),
    }
    output
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn timestamp() -> Result<DateTime, String> {
    let now = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => {
            let seconds: i64 = epoch
                .trim()
                .parse()
                .map_err(|_| format!("SOURCE_DATE_EPOCH `{epoch}` is not a number of seconds"))?;
            time::OffsetDateTime::from_unix_timestamp(seconds)
                .map_err(|e| format!("SOURCE_DATE_EPOCH: {e}"))?
        }
        Err(_) => time::OffsetDateTime::now_utc(),
    };
    let text = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    DateTime::try_from(text).map_err(|e| format!("SBOM timestamp: {e}"))
}

fn bom_ref(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

fn build(lockfile: &Lockfile) -> Result<SbomDocument, String> {
    let mut packages: Vec<_> = lockfile.packages.iter().collect();
    packages.sort_by(|a, b| (a.name.as_str(), &a.version).cmp(&(b.name.as_str(), &b.version)));
    let mut components = Vec::with_capacity(packages.len());
    let mut dependencies = Vec::with_capacity(packages.len());
    for package in &packages {
        let name = package.name.as_str();
        let version = package.version.to_string();
        let reference = bom_ref(name, &version);
        let mut component = Component::new(
            Classification::Library,
            name,
            &version,
            Some(reference.clone()),
        );
        component.purl = Purl::new("cargo", name, &version).ok();
        if let Some(checksum) = &package.checksum {
            component.hashes = Some(Hashes(vec![Hash {
                alg: HashAlgorithm::SHA_256,
                content: HashValue(checksum.to_string()),
            }]));
        }
        components.push(component);
        let mut depends_on: Vec<String> = package
            .dependencies
            .iter()
            .map(|dep| bom_ref(dep.name.as_str(), &dep.version.to_string()))
            .collect();
        depends_on.sort();
        dependencies.push(Dependency {
            dependency_ref: reference,
            dependencies: depends_on,
        });
    }
    let component_count = components.len();
    let mut bom = Bom {
        components: Some(Components(components)),
        dependencies: Some(Dependencies(dependencies)),
        serial_number: None,
        ..Bom::default()
    };
    bom.metadata = Some(Metadata {
        timestamp: Some(timestamp()?),
        authors: None,
        component: None,
        manufacture: None,
        supplier: None,
        licenses: None,
        properties: None,
        lifecycles: None,
        tools: Some(Tools::List(vec![Tool {
            vendor: None,
            name: Some(NormalizedString::new("secgate")),
            version: Some(NormalizedString::new(env!("CARGO_PKG_VERSION"))),
            hashes: None,
            external_references: None,
        }])),
    });
    // Derived from the content, so the same lock file gives the same document.
    let mut first = Vec::new();
    bom.clone()
        .output_as_json_v1_5(&mut first)
        .map_err(|e| format!("cannot serialize the SBOM: {e}"))?;
    let digest = Sha256::digest(&first);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "urn:uuid:{}-{}-5{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    bom.serial_number = Some(UrnUuid::new(uuid).map_err(|e| format!("SBOM serial number: {e:?}"))?);
    let mut json = Vec::new();
    bom.output_as_json_v1_5(&mut json)
        .map_err(|e| format!("cannot serialize the SBOM: {e}"))?;
    Ok(SbomDocument {
        json,
        component_count,
    })
}
