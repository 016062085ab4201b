use super::*;

#[test]
fn read_inputs_reports_the_path() {
    let e = read_inputs(&[std::path::PathBuf::from("/nonexistent/pod.yaml")]).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/pod.yaml: "), "{e}");
}

#[test]
fn read_inputs_reads_directories_in_name_order() {
    let dir = std::env::temp_dir().join(format!("minipod-manifest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.yaml"), "b").unwrap();
    std::fs::write(dir.join("a.json"), "a").unwrap();
    std::fs::write(dir.join("c.yml"), "c").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let inputs = read_inputs(std::slice::from_ref(&dir)).unwrap();
    let texts: Vec<&str> = inputs.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, ["a", "b", "c"]);
    assert!(inputs[0].name.ends_with("a.json"));
    std::fs::write(dir.join("bad.yaml"), [0xff, 0xfe]).unwrap();
    let e = read_inputs(&[dir.join("bad.yaml")]).unwrap_err();
    assert!(e.to_string().ends_with("bad.yaml: not UTF-8 text"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
