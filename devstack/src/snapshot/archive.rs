//! `devstack snapshot export|import`: one gzip-compressed tarball holding a snapshot's
//! directory (its manifest first), which a colleague imports on another machine — or unpacks
//! with `tar xzf` to look inside.
//!
//! An import unpacks only the manifest and the files it names (plain relative paths; no
//! links, no `..`), into a staging directory, and checks every file's size and checksum before
//! the snapshot takes a name. A damaged or foreign file is refused and leaves nothing behind.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::SnapshotError;
use super::library::Library;
use super::manifest::{self, Manifest};

/// Writes snapshot directory `dir` to `file` (`.tar.gz`); returns the file's size.
pub fn export(dir: &Path, file: &Path) -> Result<u64, SnapshotError> {
    let manifest = Manifest::read(dir)?;
    let partial = file.with_extension("partial");
    let out = File::create(&partial).map_err(super::io_at(&partial))?;
    let gzip = GzEncoder::new(BufWriter::with_capacity(1 << 20, out), Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    let mut paths = vec![manifest::FILE.to_string()];
    paths.extend(manifest.files().iter().map(|f| f.path.clone()));
    for path in &paths {
        let source = dir.join(path);
        tar.append_path_with_name(&source, path)
            .map_err(super::io_at(&source))?;
    }
    let written = tar
        .into_inner()
        .and_then(GzEncoder::finish)
        .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
        .and_then(|out| out.sync_all().map(|()| out))
        .map_err(super::io_at(&partial))?;
    drop(written);
    std::fs::rename(&partial, file).map_err(super::io_at(file))?;
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(super::io_at(file))
}

/// Imports `file` into `library` as `name` (the name it was saved under when `None`).
pub fn import(
    library: &Library,
    file: &Path,
    name: Option<&str>,
    force: bool,
) -> Result<(String, Manifest), SnapshotError> {
    let staging = library.staging()?;
    unpack(file, staging.path())?;
    let manifest = Manifest::read(staging.path()).map_err(|e| match e {
        SnapshotError::Io { .. } => SnapshotError::Refused(format!(
            "{} is not a devstack snapshot (it has no {}); nothing was imported",
            file.display(),
            manifest::FILE
        )),
        other => other,
    })?;
    for part in manifest.files() {
        part.verify(staging.path(), &manifest.name)?;
    }
    let name = name.unwrap_or(&manifest.name).to_string();
    library.commit(staging, &name, force)?;
    Ok((name, manifest))
}

/// Unpacks the tarball's regular files with plain relative paths into `into`.
fn unpack(file: &Path, into: &Path) -> Result<(), SnapshotError> {
    let refused = |why: String| {
        SnapshotError::Refused(format!(
            "{} is not a devstack snapshot export ({why}); nothing was imported",
            file.display()
        ))
    };
    let input = File::open(file).map_err(super::io_at(file))?;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(input)));
    let entries = tar.entries().map_err(|e| refused(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| refused(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| refused(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() || !manifest::is_plain_relative(&path) {
            return Err(refused(format!(
                "it holds {path:?}, which a snapshot never does"
            )));
        }
        let unpacked = entry
            .unpack_in(into)
            .map_err(|e| refused(format!("{path}: {e}")))?;
        if !unpacked {
            return Err(refused(format!("{path:?} points outside the snapshot")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tarball_with_a_path_outside_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("evil.tar.gz");
        let out = File::create(&file).unwrap();
        let mut tar = tar::Builder::new(GzEncoder::new(out, Compression::fast()));
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_link_name("/etc/passwd").unwrap();
        header.set_cksum();
        tar.append_data(&mut header, "manifest.json", &[][..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let library = Library::new(dir.path().join("snapshots"));
        let error = import(&library, &file, None, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("never does"), "{error}");
        assert!(library.list().unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_gzip_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "hello").unwrap();
        let library = Library::new(dir.path().join("snapshots"));
        let error = import(&library, &file, None, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a devstack snapshot"), "{error}");
    }
}
