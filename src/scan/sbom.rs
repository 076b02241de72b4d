//! A CycloneDX bill of materials of what ships, from the shared dependency
//! graph: dev-dependencies left out, build-dependencies kept as
//! `scope: excluded`, byte-identical under `SOURCE_DATE_EPOCH`.

use crate::finding::Scanner;
use crate::inventory::{DependencyKind, Ecosystem, EdgeKind, Inventory, Package, PackageSource};
use crate::scan::context::ScanContext;
use crate::scan::output::{SbomDocument, ScanOutput};
use crate::scan::settings::SbomFormat;
use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::external_models::spdx::SpdxExpression;
use cyclonedx_bom::external_models::uri::Uri;
use cyclonedx_bom::models::bom::{Bom, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components, Scope};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::external_reference::{
    ExternalReference, ExternalReferenceType, ExternalReferences,
};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::{Tool, Tools};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod root_locks;

/// The bom-ref of a virtual workspace's root component. Not its directory
/// name: that differs between checkouts and the output must not.
const WORKSPACE_REF: &str = "workspace";

pub fn scan(context: &ScanContext) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Sbom);
    let graph = if context.root.is_file() {
        match crate::inventory::cargo::from_lockfile(
            &context.root,
            "a lock file was given, not a project",
        ) {
            Ok(graph) => std::sync::Arc::new(graph),
            Err(error) => return ScanOutput::failed(Scanner::Sbom, error),
        }
    } else {
        let mut parts = Vec::new();
        // exists, not is_file: a FIFO or directory named Cargo.lock is an error below, not "none".
        if context.root.join("Cargo.lock").exists() {
            match context.inventory(&context.root) {
                Ok(graph) => parts.push(graph),
                Err(error) => return ScanOutput::failed(Scanner::Sbom, error),
            }
        }
        for (ecosystem, lock) in root_locks::at(&context.root) {
            match root_locks::inventory(context, ecosystem, &lock) {
                Ok(inventory) => parts.push(std::sync::Arc::new(inventory)),
                Err(error) => return ScanOutput::failed(Scanner::Sbom, error),
            }
        }
        match parts.len() {
            0 => {
                output.notes.push(
                    "no lock file at the root (Cargo.lock; poetry.lock, uv.lock, Pipfile.lock, pdm.lock, requirements.txt; npm-shrinkwrap.json, package-lock.json, pnpm-lock.yaml, yarn.lock, bun.lock): no SBOM written"
                        .to_string(),
                );
                return output;
            }
            1 => parts.pop().expect("one part"),
            _ => std::sync::Arc::new(Inventory::merged(
                parts.iter().map(|part| (**part).clone()).collect(),
            )),
        }
    };
    let timestamp = match timestamp() {
        Ok(timestamp) => timestamp,
        Err(error) => return ScanOutput::failed(Scanner::Sbom, error),
    };
    let options = &context.sbom;
    let mut subjects = vec![None];
    if options.per_member {
        subjects.extend(graph.workspace_members.iter().copied().map(Some));
    }
    for member in subjects {
        let built = build(&graph, member, context, &timestamp);
        let serialized = built.and_then(|Built { bom, counts }| {
            serialize(bom, options.format).map(|bytes| (bytes, counts))
        });
        match serialized {
            Ok((bytes, counts)) => {
                if member.is_none() {
                    output.notes.push(describe(&graph, context, &counts));
                }
                output.sbom.push(SbomDocument {
                    member: member.map(|m| graph.packages[m].name.clone()),
                    bytes,
                    component_count: counts.components,
                });
            }
            Err(error) => return ScanOutput::failed(Scanner::Sbom, error),
        }
    }
    if let Some(reason) = &graph.fallback_reason {
        output.notes.push(format!(
            "built from the lock file alone, so licenses, descriptions and dependency kinds are missing: {reason}"
        ));
    }
    output
}

#[derive(Default)]
struct Counts {
    components: usize,
    build: usize,
    platform_only: usize,
    without_license: usize,
}

fn describe(graph: &Inventory, context: &ScanContext, counts: &Counts) -> String {
    let platforms = match &graph.target {
        Some(target) => format!("platform {target}"),
        None => format!("all platforms ({} platform-specific)", counts.platform_only),
    };
    let build = if !context.sbom.build_dependencies {
        "build-dependencies left out".to_string()
    } else {
        format!("{} build-only", counts.build)
    };
    let mut text = format!(
        "{} components, {platforms}, {build}, dev-dependencies left out ({})",
        counts.components,
        context.sbom.format.as_str()
    );
    if graph.fallback_reason.is_none() && counts.without_license > 0 {
        text.push_str(&format!(
            "; {} without a license expression",
            counts.without_license
        ));
    }
    text
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

/// A package URL, with the qualifiers the purl spec defines for every type:
/// `repository_url` for other registries, `vcs_url` (SPDX download location
/// form) for git, `download_url` with a workspace-relative path for paths.
pub fn purl(package: &Package) -> Result<String, String> {
    // npm's scope is the purl's namespace (`pkg:npm/%40types/node@…`).
    let (namespace, name) = match package.name.split_once('/') {
        Some((scope, name)) if package.ecosystem == Ecosystem::Npm && scope.starts_with('@') => {
            (Some(scope), name)
        }
        _ => (None, package.name.as_str()),
    };
    let mut builder =
        purl::GenericPurlBuilder::<String>::new(package.ecosystem.purl_type().to_string(), name)
            .with_version(package.version.as_str());
    if let Some(namespace) = namespace {
        builder = builder.with_namespace(namespace);
    }
    let qualifier = match &package.source {
        PackageSource::Registry { url, public: false } => Some((
            "repository_url",
            url.split_once('+')
                .map(|(_, u)| u)
                .unwrap_or(url)
                .to_string(),
        )),
        PackageSource::Git { url, rev, .. } if rev.is_empty() => {
            Some(("vcs_url", format!("git+{url}")))
        }
        PackageSource::Git { url, rev, .. } => Some(("vcs_url", format!("git+{url}@{rev}"))),
        PackageSource::Path {
            relative: Some(relative),
        } => Some(("download_url", format!("file://{relative}"))),
        _ => None,
    };
    if let Some((key, value)) = qualifier {
        builder = builder
            .with_qualifier(key, value)
            .map_err(|e| format!("purl of {}: {e}", package.name))?;
    }
    builder
        .build()
        .map(|p| p.to_string())
        .map_err(|e| format!("purl of {} {}: {e}", package.name, package.version))
}

/// A cargo `license` as an SPDX expression (`MIT/Apache-2.0` read as `OR`),
/// else as a named license so nothing is dropped.
fn license(text: &str) -> LicenseChoice {
    match SpdxExpression::try_from(text.to_string())
        .or_else(|_| SpdxExpression::parse_lax(text.to_string()))
    {
        Ok(expression) => LicenseChoice::Expression(expression),
        Err(_) => LicenseChoice::license(text),
    }
}

/// Cargo's URL fields are free text; keep only what looks like a URL.
fn reference(kind: ExternalReferenceType, url: Option<&str>) -> Option<ExternalReference> {
    let url = url?.trim();
    let plausible = url.contains("://") && !url.chars().any(char::is_whitespace);
    plausible.then(|| ExternalReference::new(kind, Uri::new(url)))
}

fn component(
    package: &Package,
    kind: Option<DependencyKind>,
    platform_only: Option<&Vec<String>>,
) -> Result<Component, String> {
    let purl = purl(package)?;
    let classification = if package.is_application {
        Classification::Application
    } else {
        Classification::Library
    };
    let mut component = Component::new(
        classification,
        &package.name,
        &package.version,
        Some(purl.clone()),
    );
    component.purl = Some(purl.parse().map_err(|()| format!("purl {purl}"))?);
    component.description = package
        .description
        .as_deref()
        .map(|d| NormalizedString::new(d.trim()));
    component.scope = match kind {
        Some(DependencyKind::Build) => Some(Scope::Excluded),
        Some(DependencyKind::Normal) => Some(Scope::Required),
        _ => None,
    };
    let mut hashes: Vec<Hash> = package
        .checksum
        .iter()
        .map(|checksum| Hash {
            alg: HashAlgorithm::SHA_256,
            content: HashValue(checksum.clone()),
        })
        .collect();
    for hash in &package.hashes {
        let alg = match hash.algorithm {
            crate::inventory::HashAlgorithm::Sha1 => HashAlgorithm::SHA1,
            crate::inventory::HashAlgorithm::Sha256 => HashAlgorithm::SHA_256,
            crate::inventory::HashAlgorithm::Sha384 => HashAlgorithm::SHA_384,
            crate::inventory::HashAlgorithm::Sha512 => HashAlgorithm::SHA_512,
        };
        if !hashes.iter().any(|h| h.alg == alg) {
            hashes.push(Hash {
                alg,
                content: HashValue(hash.hex.clone()),
            });
        }
    }
    if !hashes.is_empty() {
        component.hashes = Some(Hashes(hashes));
    }
    if let Some(text) = &package.license {
        component.licenses = Some(Licenses(vec![license(text)]));
    }
    let mut references: Vec<ExternalReference> = [
        reference(ExternalReferenceType::Vcs, package.repository.as_deref()),
        reference(
            ExternalReferenceType::Documentation,
            package.documentation.as_deref(),
        ),
        reference(ExternalReferenceType::Website, package.homepage.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if package.source.is_public_registry() {
        references.push(ExternalReference::new(
            ExternalReferenceType::Distribution,
            Uri::new(&format!(
                "https://crates.io/crates/{}/{}",
                package.name, package.version
            )),
        ));
    }
    if !references.is_empty() {
        component.external_references = Some(ExternalReferences(references));
    }
    let mut properties = Vec::new();
    if let Some(file) = &package.license_file {
        // CycloneDX has no field for "the license is in this file".
        properties.push(Property::new("secgate:license-file", file));
    }
    for condition in platform_only.into_iter().flatten() {
        properties.push(Property::new("secgate:platform-only", condition));
    }
    if !properties.is_empty() {
        component.properties = Some(Properties(properties));
    }
    Ok(component)
}

struct Built {
    bom: Bom,
    counts: Counts,
}

/// The document for the whole workspace (`member` = None) or one member.
fn build(
    graph: &Inventory,
    member: Option<usize>,
    context: &ScanContext,
    timestamp: &DateTime,
) -> Result<Built, String> {
    let known_kinds = graph.fallback_reason.is_none();
    let roots: Vec<usize> = match member {
        Some(m) => vec![m],
        None => graph.workspace_members.clone(),
    };
    let classes = graph.classify(&roots);
    // Members are described by the metadata's root component, not listed.
    let in_root: BTreeSet<usize> = match member {
        Some(m) => [m].into(),
        None => roots.iter().copied().collect(),
    };
    let included: BTreeSet<usize> = (0..graph.packages.len())
        .filter(|i| !in_root.contains(i))
        .filter(|&i| match classes[i].kind {
            _ if roots.is_empty() => true,
            None => false,
            Some(DependencyKind::DevOnly) => false,
            Some(DependencyKind::Build) => context.sbom.build_dependencies,
            Some(DependencyKind::Normal) => true,
        })
        .collect();
    let mut counts = Counts::default();
    let mut refs: BTreeMap<usize, String> = BTreeMap::new();
    let mut components = Vec::new();
    for &i in &included {
        let class = &classes[i];
        let kind = if known_kinds { class.kind } else { None };
        let platform = if known_kinds {
            class.platform_only.as_ref()
        } else {
            None
        };
        let component = component(&graph.packages[i], kind, platform)?;
        counts.components += 1;
        counts.build += usize::from(kind == Some(DependencyKind::Build));
        counts.platform_only += usize::from(platform.is_some());
        counts.without_license += usize::from(component.licenses.is_none());
        refs.insert(i, component.bom_ref.clone().unwrap_or_default());
        components.push(component);
    }
    let mut root_members = Vec::new();
    for &i in &in_root {
        let component = component(&graph.packages[i], None, None)?;
        refs.insert(i, component.bom_ref.clone().unwrap_or_default());
        root_members.push(component);
    }
    // A workspace with a root package describes it, its fellow members
    // nested; a virtual one gets a neutral root holding the members.
    let root_package = match member {
        Some(m) => Some(m),
        None => graph.root.filter(|r| in_root.contains(r)),
    };
    let root_component = match root_package {
        Some(root) => {
            let position = in_root.iter().position(|&i| i == root).unwrap_or(0);
            let mut component = root_members.remove(position);
            if !root_members.is_empty() {
                component.components = Some(Components(root_members));
            }
            component
        }
        None => {
            let mut component =
                Component::new(Classification::Application, WORKSPACE_REF, "", None);
            component.version = None;
            component.bom_ref = Some(WORKSPACE_REF.to_string());
            if !root_members.is_empty() {
                component.components = Some(Components(root_members));
            }
            component
        }
    };

    let mut dependencies = Vec::new();
    if root_package.is_none() {
        dependencies.push(Dependency {
            dependency_ref: WORKSPACE_REF.to_string(),
            dependencies: in_root.iter().map(|i| refs[i].clone()).collect(),
        });
    }
    for (&from, from_ref) in &refs {
        // Dev edges never lead to something shipped because of them.
        let depends_on: BTreeSet<String> = graph.depends_on[from]
            .iter()
            .filter(|e| e.kind != EdgeKind::Dev)
            .filter_map(|e| refs.get(&e.to).cloned())
            .collect();
        dependencies.push(Dependency {
            dependency_ref: from_ref.clone(),
            dependencies: depends_on.into_iter().collect(),
        });
    }
    dependencies.sort_by(|a, b| a.dependency_ref.cmp(&b.dependency_ref));
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));

    let mut properties = vec![
        Property::new(
            "secgate:dependency-source",
            if known_kinds {
                "cargo metadata"
            } else {
                "Cargo.lock"
            },
        ),
        Property::new(
            "secgate:platforms",
            graph.target.as_deref().unwrap_or("all"),
        ),
        Property::new("secgate:dev-dependencies", "omitted"),
        Property::new(
            "secgate:build-dependencies",
            if !known_kinds {
                "unknown (included, not marked)"
            } else if context.sbom.build_dependencies {
                "included with scope excluded"
            } else {
                "omitted"
            },
        ),
    ];
    if let Some(reason) = &graph.fallback_reason {
        properties.push(Property::new(
            "secgate:licenses-missing",
            &format!("cargo metadata did not run: {reason}"),
        ));
    }
    properties.sort_by(|a, b| a.name.cmp(&b.name));
    let metadata = Metadata {
        timestamp: Some(timestamp.clone()),
        tools: Some(Tools::List(vec![Tool {
            vendor: None,
            name: Some(NormalizedString::new("secgate")),
            version: Some(NormalizedString::new(env!("CARGO_PKG_VERSION"))),
            hashes: None,
            external_references: None,
        }])),
        authors: None,
        component: Some(root_component),
        manufacture: None,
        supplier: None,
        licenses: None,
        properties: Some(Properties(properties)),
        lifecycles: None,
    };
    let bom = Bom {
        metadata: Some(metadata),
        components: Some(Components(components)),
        dependencies: Some(Dependencies(dependencies)),
        serial_number: None,
        ..Bom::default()
    };
    Ok(Built { bom, counts })
}

fn write(bom: Bom, format: SbomFormat) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    match format {
        SbomFormat::CycloneDxJson15 => bom
            .output_as_json_v1_5(&mut bytes)
            .map_err(|e| format!("cannot serialize the SBOM: {e}"))?,
        SbomFormat::CycloneDxXml15 => bom
            .output_as_xml_v1_5(&mut bytes)
            .map_err(|e| format!("cannot serialize the SBOM: {e}"))?,
    }
    Ok(bytes)
}

/// Serializes with a serial number derived from the content (written once
/// without it), so the same project gives the same document.
fn serialize(mut bom: Bom, format: SbomFormat) -> Result<Vec<u8>, String> {
    let first = write(bom.clone(), format)?;
    let digest = Sha256::digest(&first);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    // Shaped as a version-5-style UUID (name-based): version and variant bits set.
    let uuid = format!(
        "urn:uuid:{}-{}-5{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    bom.serial_number = Some(UrnUuid::new(uuid).map_err(|e| format!("SBOM serial number: {e:?}"))?);
    write(bom, format)
}

/// Where the SBOM of one member goes: `<stem>.<member>.cdx.<ext>` beside `main`.
pub fn member_path(main: &Path, member: &str, format: SbomFormat) -> std::path::PathBuf {
    let name = main
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = [".cdx.json", ".cdx.xml", ".json", ".xml"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    main.with_file_name(format!("{stem}.{member}.cdx.{}", format.extension()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::cargo::{source_of, CRATES_IO};
    use crate::inventory::Ecosystem;

    fn package(source: PackageSource) -> Package {
        Package::bare(Ecosystem::CratesIo, "foo", "1.2.3", source)
    }

    #[test]
    fn purls_carry_source_qualifiers() {
        let registry = package(source_of(CRATES_IO));
        assert_eq!(purl(&registry).unwrap(), "pkg:cargo/foo@1.2.3");
        let other = package(source_of("sparse+https://reg.example/index/"));
        assert_eq!(
            purl(&other).unwrap(),
            "pkg:cargo/foo@1.2.3?repository_url=https://reg.example/index/"
        );
        let git = package(source_of(
            "git+https://github.com/example/foo?branch=main#0123abcd",
        ));
        assert_eq!(
            purl(&git).unwrap(),
            "pkg:cargo/foo@1.2.3?vcs_url=git%2Bhttps://github.com/example/foo%400123abcd"
        );
        let path = package(PackageSource::Path {
            relative: Some("crates/foo".to_string()),
        });
        assert_eq!(
            purl(&path).unwrap(),
            "pkg:cargo/foo@1.2.3?download_url=file://crates/foo"
        );
    }

    #[test]
    fn npm_scopes_are_the_purl_namespace() {
        let registry = PackageSource::Registry {
            url: "https://registry.npmjs.org".to_string(),
            public: true,
        };
        let scoped = Package::bare(
            Ecosystem::Npm,
            "@babel/traverse",
            "7.22.5",
            registry.clone(),
        );
        assert_eq!(purl(&scoped).unwrap(), "pkg:npm/%40babel/traverse@7.22.5");
        let plain = Package::bare(Ecosystem::Npm, "lodash", "4.17.4", registry);
        assert_eq!(purl(&plain).unwrap(), "pkg:npm/lodash@4.17.4");
    }

    #[test]
    fn licenses_become_spdx_expressions() {
        let expression = |text| match license(text) {
            LicenseChoice::Expression(e) => e.to_string(),
            LicenseChoice::License(_) => "named".to_string(),
        };
        assert_eq!(expression("MIT OR Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(expression("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(expression("my own licence"), "named");
    }

    #[test]
    fn member_paths_keep_the_stem() {
        let format = SbomFormat::CycloneDxJson15;
        assert_eq!(
            member_path(Path::new("out/sbom.cdx.json"), "app", format),
            Path::new("out/sbom.app.cdx.json")
        );
        assert_eq!(
            member_path(Path::new("bom.json"), "lib", format),
            Path::new("bom.lib.cdx.json")
        );
        assert_eq!(
            member_path(Path::new("bom.xml"), "lib", SbomFormat::CycloneDxXml15),
            Path::new("bom.lib.cdx.xml")
        );
    }
}
