//! Any bytes → the whole manifest pipeline (parse, default, validate, expand workloads,
//! plan pods, resolve processes). It must return errors, never panic, hang or overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minipod_manifest::{
    load, resolve_process, ImageProcessDefaults, Input, LoadOptions, RuntimeFacts,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = minipod_manifest::parse_str("fuzz.yaml", &text);
    if let Ok(manifest) = load(
        &[Input::new("fuzz.yaml", text.as_ref())],
        &LoadOptions::default(),
    ) {
        let image = ImageProcessDefaults {
            entrypoint: vec!["/entry".into()],
            cmd: vec!["$(X)".into()],
            env: vec!["PATH=/bin".into(), "X".into()],
            working_dir: None,
            user: Some("app".into()),
        };
        let facts = RuntimeFacts {
            pod_ips: vec!["10.0.0.1".into()],
            host_ips: vec![],
        };
        for pod in &manifest.pods {
            for c in pod
                .init_containers
                .iter()
                .map(|i| &i.container)
                .chain(&pod.containers)
            {
                let _ = resolve_process(c, &facts, Some(&pod.sandbox.hostname), &image);
            }
        }
        for i in 0..manifest.workloads.len() {
            let _ = manifest.new_pod(i, 7, 1);
        }
    }
    let _ = minipod_manifest::expand(&text, |n| (n.len() % 2 == 0).then(|| n.to_string()));
});
