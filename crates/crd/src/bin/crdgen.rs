//! `crdgen [DIR…]`: writes the CRDs into each directory (default `crds/`). `make crds` writes
//! `crds/` and the Helm chart's `charts/kefu/crds/`.

fn main() -> std::process::ExitCode {
    let mut dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        dirs.push("crds".into());
    }
    for dir in dirs {
        match kefu_crd::crdgen::write_all(std::path::Path::new(&dir)) {
            Ok(files) => {
                for f in files {
                    println!("{dir}/{f}");
                }
            }
            Err(e) => {
                eprintln!("crdgen: writing {dir}: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
