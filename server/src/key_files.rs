//! Key files the configuration reads or writes: the development keys generated into the
//! data folder (private to the service user), and a production key file kept elsewhere.

use std::path::Path;

use anyhow::{Context, bail};

/// Writes a new key file readable by its owner only; never overwrites one.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads `HOURMARK_PII_KEY_FILE`: two lines, the sealing keys and the lookup key. Refused
/// inside the data folder (a copy of the database would carry its own keys) and, on Unix,
/// when other users may read it.
pub(crate) fn read_pii_key_file(path: &Path, data_dir: &Path) -> anyhow::Result<(String, String)> {
    let resolved = std::fs::canonicalize(path)
        .with_context(|| format!("HOURMARK_PII_KEY_FILE: cannot read {}", path.display()))?;
    if let Ok(data) = std::fs::canonicalize(data_dir)
        && resolved.starts_with(&data)
    {
        bail!(
            "HOURMARK_PII_KEY_FILE must not be in the data folder ({}): a copy of the database would carry the keys \
             that protect it",
            data_dir.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&resolved)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "HOURMARK_PII_KEY_FILE {} may be read by other users (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let text = std::fs::read_to_string(&resolved)
        .with_context(|| format!("HOURMARK_PII_KEY_FILE: cannot read {}", path.display()))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    match (lines.next(), lines.next(), lines.next()) {
        (Some(k), Some(l), None) => Ok((k.to_owned(), l.to_owned())),
        _ => bail!("HOURMARK_PII_KEY_FILE {} must hold two lines: the sealing keys and the lookup key", path.display()),
    }
}
