use std::time::Duration;

use super::*;
use crate::observed::{KillReason, ProbeKind};
use crate::testutil::{pod, t};
use serde_json::json;

#[test]
fn messages() {
    let p = pod(
        json!({"initContainers": [{"name": "init", "image": "busybox"}],
                       "containers": [{"name": "app", "image": "busybox"}]}),
    );
    assert_eq!(
        scheduled(&p.pod, "minipod").message,
        "Successfully assigned default/pod to minipod"
    );
    assert_eq!(
        created(ContainerKind::Regular, "app").message,
        "Created container: app"
    );
    assert_eq!(
        started(ContainerKind::Init, "init").field_path.as_deref(),
        Some("spec.initContainers{init}")
    );
    assert_eq!(
        started(ContainerKind::Regular, "app").message,
        "Started container app"
    );
    assert_eq!(
        image_present(ContainerKind::Regular, "app", "busybox").message,
        "Container image \"busybox\" already present on machine"
    );
    assert_eq!(
        failed_post_start_hook(ContainerKind::Regular, "app").message,
        "PostStartHook failed"
    );
    assert_eq!(
        failed_pre_stop_hook(ContainerKind::Regular, "app").reason,
        "FailedPreStopHook"
    );
    assert_eq!(
        unhealthy(ContainerKind::Regular, "app", ProbeKind::Liveness, "exit 1").message,
        "Liveness probe failed: exit 1"
    );
    assert_eq!(
        failed(ContainerKind::Regular, "app", "boom").type_,
        EventType::Warning
    );

    let backoff = Action::WaitUntil {
        at: t(10),
        reason: WaitReason::BackOff {
            name: "init".into(),
            delay: Duration::from_secs(10),
        },
    };
    let e = for_action(&p, &backoff).unwrap();
    assert_eq!(e.reason, "BackOff");
    assert_eq!(
        e.message,
        "Back-off restarting failed container init in pod pod_default(uid1)"
    );
    assert_eq!(e.field_path.as_deref(), Some("spec.initContainers{init}"));

    let kill = Action::KillContainer {
        name: "app".into(),
        kind: ContainerKind::Regular,
        reason: KillReason::LivenessProbe,
        message: "Container app failed liveness probe, will be restarted".into(),
        grace: Duration::from_secs(30),
        run_pre_stop: false,
        ordered: false,
    };
    let e = for_action(&p, &kill).unwrap();
    assert_eq!((e.type_.as_str(), e.reason), ("Normal", "Killing"));
    assert_eq!(
        e.message,
        "Container app failed liveness probe, will be restarted"
    );
    assert_eq!(for_action(&p, &Action::CreateSandbox), None);
}
