//! Profiles: one release stream and the mirrors that carry it, as TOML.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

/// Profiles are small; anything bigger is a mistake or an attack on the parser.
pub const MAX_PROFILE_BYTES: u64 = 1024 * 1024;
/// Country label for mirrors added without one (ISO 3166 "user-assigned" range).
pub const UNKNOWN_COUNTRY: &str = "ZZ";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("profile {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("mirror {url:?}: {reason}")]
    Mirror { url: String, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDoc {
    name: String,
    #[serde(default = "native")]
    scheme: String,
    root: String,
    channel: String,
    #[serde(default)]
    mirrors: Vec<MirrorDoc>,
}

fn native() -> String {
    "native".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorDoc {
    url: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    proxy: Option<String>,
}

/// Where a mirror's files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Http(Url),
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Mirror {
    /// The URL as the user wrote it: reports name mirrors this way.
    pub url: String,
    pub location: Location,
    pub country: String,
    pub name: Option<String>,
    pub proxy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub scheme: String,
    pub root: PathBuf,
    pub channel: String,
    pub mirrors: Vec<Mirror>,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let shown = path.display().to_string();
        let bytes = crate::fsutil::read_limited(path, MAX_PROFILE_BYTES).map_err(|e| {
            ProfileError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ProfileError::Parse {
            path: shown.clone(),
            reason: "not UTF-8".into(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Profile::parse(text, base).map_err(|e| match e {
            ProfileError::Parse { reason, .. } => ProfileError::Parse {
                path: shown,
                reason,
            },
            other => other,
        })
    }

    /// Parses profile text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Profile, ProfileError> {
        let doc: ProfileDoc = toml::from_str(text).map_err(|e| ProfileError::Parse {
            path: String::new(),
            reason: crate::envelope::one_line(&e.message()),
        })?;
        let bad = |reason: String| ProfileError::Parse {
            path: String::new(),
            reason,
        };
        if doc.name.is_empty() {
            return Err(bad("name is empty".into()));
        }
        if doc.channel.is_empty() {
            return Err(bad("channel is empty".into()));
        }
        let mirrors = doc
            .mirrors
            .into_iter()
            .map(|m| {
                let country = match m.country {
                    Some(c) => check_country(&c).map_err(|reason| ProfileError::Mirror {
                        url: m.url.clone(),
                        reason,
                    })?,
                    None => UNKNOWN_COUNTRY.into(),
                };
                Mirror::new(&m.url, &country, m.name, m.proxy, base)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Profile {
            name: doc.name,
            scheme: doc.scheme,
            root: base.join(&doc.root),
            channel: doc.channel,
            mirrors,
        })
    }
}

/// ISO 3166-1 alpha-2 shape: two ASCII letters, stored uppercase.
pub fn check_country(c: &str) -> Result<String, String> {
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(format!("country {c:?} is not a two-letter ISO 3166-1 code"))
    }
}

impl Mirror {
    pub fn new(
        url: &str,
        country: &str,
        name: Option<String>,
        proxy: Option<String>,
        base: &Path,
    ) -> Result<Mirror, ProfileError> {
        let bad = |reason: &str| ProfileError::Mirror {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let lower = url.to_ascii_lowercase();
        let location = if lower.starts_with("http://") || lower.starts_with("https://") {
            let mut u = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            Location::Http(u)
        } else if lower.starts_with("file://") {
            let u = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
            Location::Dir(u.to_file_path().map_err(|_| bad("not a local file URL"))?)
        } else if lower.contains("://") {
            return Err(bad(
                "only http, https, file URLs and local directories are supported",
            ));
        } else {
            Location::Dir(base.join(url))
        };
        if let Some(p) = &proxy {
            Url::parse(p).map_err(|e| bad(&format!("proxy: {e}")))?;
        }
        Ok(Mirror {
            url: url.to_owned(),
            location,
            country: country.to_owned(),
            name,
            proxy,
        })
    }

    /// Parses the command line's `URL[=CC]`.
    pub fn from_arg(arg: &str, base: &Path) -> Result<Mirror, ProfileError> {
        if let Some((url, cc)) = arg.rsplit_once('=')
            && cc.len() == 2
            && cc.bytes().all(|b| b.is_ascii_alphabetic())
        {
            let country = check_country(cc).map_err(|reason| ProfileError::Mirror {
                url: url.to_owned(),
                reason,
            })?;
            return Mirror::new(url, &country, None, None, base);
        }
        Mirror::new(arg, UNKNOWN_COUNTRY, None, None, base)
    }

    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example() {
        let p = Profile::parse(
            r#"
name = "exampleos"
scheme = "native"
root = "keys/exampleos.root.json"
channel = "stable"
[[mirrors]]
url = "https://mirror.example.fr/exampleos"
country = "fr"
[[mirrors]]
url = "mirrors/local"
country = "DE"
name = "local"
"#,
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(p.root, PathBuf::from("/p/keys/exampleos.root.json"));
        assert_eq!(p.mirrors[0].country, "FR");
        assert_eq!(
            p.mirrors[0].location,
            Location::Http(Url::parse("https://mirror.example.fr/exampleos/").unwrap())
        );
        assert_eq!(
            p.mirrors[1].location,
            Location::Dir(PathBuf::from("/p/mirrors/local"))
        );
    }

    #[test]
    fn mirror_args() {
        let m = Mirror::from_arg("http://127.0.0.1:1/x=de", Path::new(".")).unwrap();
        assert_eq!(m.country, "DE");
        assert_eq!(m.url, "http://127.0.0.1:1/x");
        let m = Mirror::from_arg("http://h/?a=b", Path::new(".")).unwrap();
        assert_eq!(m.country, UNKNOWN_COUNTRY);
        assert!(Mirror::from_arg("ftp://h/", Path::new(".")).is_err());
    }
}
