//! The committed `crds/*.yaml` are exactly what the types generate (`make crds` fixes a diff),
//! and the schemas carry the rules the apiserver enforces.

use std::path::PathBuf;

/// Where the generated CRDs are committed: `crds/` and the Helm chart's `crds/`.
const DIRS: &[&str] = &["crds", "charts/kefu/crds"];

#[test]
fn crds_up_to_date() {
    // The checkout being tested (read at run time: a shared target directory may hold this
    // binary from another checkout of the same sources).
    let root = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR")
            .expect("cargo sets CARGO_MANIFEST_DIR when it runs tests"),
    )
    .join("../..");
    let mut stale = Vec::new();
    for dir in DIRS {
        for (file, yaml) in kefu_crd::crdgen::render() {
            let committed = std::fs::read_to_string(root.join(dir).join(&file)).unwrap_or_default();
            if committed != yaml {
                stale.push(format!("{dir}/{file}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated CRDs are out of date: {stale:?}; run `make crds` and commit the result"
    );
}

#[test]
fn crds_have_status_short_names_printer_columns_and_cel_rules() {
    let all: Vec<(String, String)> = kefu_crd::crdgen::render();
    assert_eq!(all.len(), 5);
    for (file, yaml) in &all {
        assert!(yaml.contains("group: kefu.dev"), "{file}");
        assert!(yaml.contains("name: v1alpha1"), "{file}");
        assert!(yaml.contains("status: {}"), "{file}: status subresource");
        assert!(yaml.contains("shortNames:"), "{file}");
        assert!(yaml.contains("additionalPrinterColumns:"), "{file}");
        assert!(yaml.contains("observedGeneration"), "{file}");
    }
    let tenant = &all
        .iter()
        .find(|(f, _)| f == "tenants.kefu.dev.yaml")
        .unwrap()
        .1;
    assert!(tenant.contains("rule: self.end > self.start"));
    assert!(tenant.contains("rule: self.maxReplicas >= self.minReplicas"));
    let channel = &all
        .iter()
        .find(|(f, _)| f == "channels.kefu.dev.yaml")
        .unwrap()
        .1;
    assert!(channel.contains("- wechat"), "channel type is an enum");
    assert!(!channel.contains("secret:\n"), "no inline secret field");
}
