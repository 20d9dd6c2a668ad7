//! Countries in profiles are assigned ISO 3166-1 codes: a report groups mirrors by them, so a
//! domain-style `UK` next to `GB`, or a made-up `EU`, would split or invent a country.

use std::path::Path;

use mirrorproof::profile::{Mirror, Profile};

fn profile_with(country: &str) -> Result<Profile, String> {
    let text = format!(
        "name = \"p\"\nscheme = \"native\"\nroot = \"root.json\"\nchannel = \"stable\"\n\
         [[mirrors]]\nurl = \"https://m.example/p/\"\ncountry = {}\n",
        mirrorproof::text::toml_string(country)
    );
    Profile::parse(&text, Path::new("/p")).map_err(|e| e.to_string())
}

#[test]
fn assigned_codes_are_accepted_in_any_case_and_stored_uppercase() {
    for (written, stored) in [
        ("GB", "GB"),
        ("gb", "GB"),
        ("nl", "NL"),
        ("ZZ", "ZZ"),
        ("zz", "ZZ"),
    ] {
        let p = profile_with(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(p.mirrors[0].country, stored);
    }
}

#[test]
fn the_uk_domain_is_refused_with_the_iso_code_as_a_hint() {
    let err = profile_with("UK").unwrap_err();
    assert!(err.contains("did you mean GB?"), "{err}");
    let err = Mirror::from_arg("https://m.example/=uk", Path::new("/p"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean GB?"), "{err}");
}

#[test]
fn unassigned_and_malformed_codes_are_refused() {
    for code in ["EU", "XK", "SU", "QQ", "USA", "U", "", "\u{202e}GB"] {
        let err = profile_with(code).expect_err(code);
        assert!(err.contains("not an assigned ISO 3166-1"), "{code}: {err}");
        assert!(!err.contains('\u{202e}'), "unescaped bidi in {err:?}");
    }
}
