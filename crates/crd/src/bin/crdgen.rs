//! `crdgen [DIR]`: writes the CRDs (default `crds/`). Run by `make crds`.

fn main() -> std::process::ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "crds".into());
    match kefu_crd::crdgen::write_all(std::path::Path::new(&dir)) {
        Ok(files) => {
            for f in files {
                println!("{dir}/{f}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crdgen: writing {dir}: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
