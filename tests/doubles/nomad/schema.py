"""The shapes of the Nomad API structs the double decodes, with their HCL names.

Each struct lists its fields as Nomad's `api` package declares them: the Go field name (which
is also the JSON key, matched case-insensitively), the Go type, and the name the field has in
an HCL job spec. Fields the double does not model in depth are typed `ANY`: accepted and kept
as sent, never validated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scalar:
    """A Go scalar: `go` is the type name Go prints in decode errors."""

    go: str
    kind: str  # "string", "bool", "int", "uint", "duration", "float", "bytes", "any"


@dataclass(frozen=True)
class ListOf:
    elem: Type

    @property
    def go(self) -> str:
        return f"[]{self.elem.go}"


@dataclass(frozen=True)
class MapOf:
    elem: Type

    @property
    def go(self) -> str:
        return f"map[string]{self.elem.go}"


@dataclass(frozen=True)
class Struct:
    name: str

    @property
    def go(self) -> str:
        return f"api.{self.name}"


Type = Scalar | ListOf | MapOf | Struct

STRING = Scalar("string", "string")
BOOL = Scalar("bool", "bool")
INT = Scalar("int", "int")
INT8 = Scalar("int8", "int")
INT64 = Scalar("int64", "int")
UINT64 = Scalar("uint64", "uint")
DURATION = Scalar("time.Duration", "duration")
FLOAT = Scalar("float64", "float")
BYTES = Scalar("[]uint8", "bytes")
ANY = Scalar("interface {}", "any")
STRINGS = ListOf(STRING)
STRING_MAP = MapOf(STRING)


@dataclass(frozen=True)
class Field:
    """One struct field. `hcl` is its HCL name, `None` when HCL cannot set it."""

    name: str
    type: Type
    hcl: str | None = None
    label: bool = False


def S(name: str) -> Struct:
    return Struct(name)


def LS(name: str) -> ListOf:
    return ListOf(Struct(name))


F = Field

STRUCTS: dict[str, list[Field]] = {
    "Job": [
        F("Region", STRING, "region"),
        F("Namespace", STRING, "namespace"),
        F("ID", STRING, "id"),
        F("Name", STRING, "name"),
        F("Type", STRING, "type"),
        F("Priority", INT, "priority"),
        F("AllAtOnce", BOOL, "all_at_once"),
        F("Datacenters", STRINGS, "datacenters"),
        F("NodePool", STRING, "node_pool"),
        F("Constraints", LS("Constraint"), "constraint"),
        F("Affinities", LS("Affinity"), "affinity"),
        F("TaskGroups", LS("TaskGroup"), "group"),
        F("Update", S("UpdateStrategy"), "update"),
        F("Multiregion", ANY),
        F("Spreads", LS("Spread"), "spread"),
        F("Periodic", S("PeriodicConfig"), "periodic"),
        F("ParameterizedJob", S("ParameterizedJobConfig"), "parameterized"),
        F("Reschedule", S("ReschedulePolicy"), "reschedule"),
        F("Migrate", S("MigrateStrategy"), "migrate"),
        F("Meta", STRING_MAP, "meta"),
        F("UI", S("JobUIConfig"), "ui"),
        F("Stop", BOOL),
        F("ParentID", STRING),
        F("Dispatched", BOOL),
        F("DispatchIdempotencyToken", STRING),
        F("Payload", BYTES),
        F("ConsulNamespace", STRING),
        F("VaultNamespace", STRING),
        F("NomadTokenID", STRING),
        F("Status", STRING),
        F("StatusDescription", STRING),
        F("Stable", BOOL),
        F("Version", UINT64),
        F("SubmitTime", INT64),
        F("CreateIndex", UINT64),
        F("ModifyIndex", UINT64),
        F("JobModifyIndex", UINT64),
        F("VersionTag", ANY),
    ],
    "TaskGroup": [
        F("Name", STRING, "name", label=True),
        F("Count", INT, "count"),
        F("Constraints", LS("Constraint"), "constraint"),
        F("Affinities", LS("Affinity"), "affinity"),
        F("Tasks", LS("Task"), "task"),
        F("Spreads", LS("Spread"), "spread"),
        F("Volumes", MapOf(ANY)),
        F("RestartPolicy", S("RestartPolicy"), "restart"),
        F("Disconnect", S("DisconnectStrategy"), "disconnect"),
        F("ReschedulePolicy", S("ReschedulePolicy"), "reschedule"),
        F("EphemeralDisk", S("EphemeralDisk"), "ephemeral_disk"),
        F("Update", S("UpdateStrategy"), "update"),
        F("Migrate", S("MigrateStrategy"), "migrate"),
        F("Networks", LS("NetworkResource"), "network"),
        F("Meta", STRING_MAP, "meta"),
        F("Services", LS("Service"), "service"),
        F("ShutdownDelay", DURATION, "shutdown_delay"),
        F("MaxRunDuration", DURATION, "max_run_duration"),
        F("StopAfterClientDisconnect", DURATION, "stop_after_client_disconnect"),
        F("MaxClientDisconnect", DURATION, "max_client_disconnect"),
        F("Scaling", ANY),
        F("Consul", ANY),
        F("PreventRescheduleOnLost", BOOL, "prevent_reschedule_on_lost"),
    ],
    "Task": [
        F("Name", STRING, "name", label=True),
        F("Driver", STRING, "driver"),
        F("User", STRING, "user"),
        F("Lifecycle", S("TaskLifecycle"), "lifecycle"),
        F("Config", MapOf(ANY), "config"),
        F("Constraints", LS("Constraint"), "constraint"),
        F("Affinities", LS("Affinity"), "affinity"),
        F("Env", STRING_MAP, "env"),
        F("Services", LS("Service"), "service"),
        F("Resources", S("Resources"), "resources"),
        F("RestartPolicy", S("RestartPolicy"), "restart"),
        F("Meta", STRING_MAP, "meta"),
        F("KillTimeout", DURATION, "kill_timeout"),
        F("LogConfig", S("LogConfig"), "logs"),
        F("Artifacts", LS("TaskArtifact"), "artifact"),
        F("Vault", S("Vault"), "vault"),
        F("Consul", ANY),
        F("Templates", LS("Template"), "template"),
        F("DispatchPayload", S("DispatchPayloadConfig"), "dispatch_payload"),
        F("VolumeMounts", ListOf(ANY)),
        F("CSIPluginConfig", ANY),
        F("Leader", BOOL, "leader"),
        F("ShutdownDelay", DURATION, "shutdown_delay"),
        F("KillSignal", STRING, "kill_signal"),
        F("Kind", STRING),
        F("ScalingPolicies", ListOf(ANY)),
        F("Secrets", ListOf(ANY)),
        F("Identity", S("WorkloadIdentity")),
        F("Identities", LS("WorkloadIdentity"), "identity"),
        F("Actions", ListOf(ANY)),
        F("Schedule", ANY),
    ],
    "Resources": [
        F("CPU", INT, "cpu"),
        F("Cores", INT, "cores"),
        F("MemoryMB", INT, "memory"),
        F("MemoryMaxMB", INT, "memory_max"),
        F("DiskMB", INT, "disk"),
        F("Networks", LS("NetworkResource")),
        F("Devices", ListOf(ANY)),
        F("NUMA", ANY),
        F("SecretsMB", INT, "secrets"),
        F("IOPS", INT),
    ],
    "NetworkResource": [
        F("Mode", STRING, "mode"),
        F("Device", STRING),
        F("CIDR", STRING),
        F("IP", STRING),
        F("DNS", S("DNSConfig"), "dns"),
        F("ReservedPorts", LS("Port")),
        F("DynamicPorts", LS("Port"), "port"),
        F("Hostname", STRING, "hostname"),
        F("MBits", INT, "mbits"),
        F("CNI", ANY),
    ],
    "Port": [
        F("Label", STRING, "label", label=True),
        F("Value", INT, "static"),
        F("To", INT, "to"),
        F("HostNetwork", STRING, "host_network"),
        F("IgnoreCollision", BOOL, "ignore_collision"),
    ],
    "DNSConfig": [
        F("Servers", STRINGS, "servers"),
        F("Searches", STRINGS, "searches"),
        F("Options", STRINGS, "options"),
    ],
    "Service": [
        F("Name", STRING, "name"),
        F("Tags", STRINGS, "tags"),
        F("CanaryTags", STRINGS, "canary_tags"),
        F("EnableTagOverride", BOOL, "enable_tag_override"),
        F("PortLabel", STRING, "port"),
        F("AddressMode", STRING, "address_mode"),
        F("Address", STRING, "address"),
        F("Checks", LS("ServiceCheck"), "check"),
        F("CheckRestart", S("CheckRestart"), "check_restart"),
        F("Connect", ANY),
        F("Meta", STRING_MAP, "meta"),
        F("CanaryMeta", STRING_MAP, "canary_meta"),
        F("TaggedAddresses", STRING_MAP, "tagged_addresses"),
        F("TaskName", STRING, "task"),
        F("OnUpdate", STRING, "on_update"),
        F("Identity", S("WorkloadIdentity")),
        F("Weights", ANY),
        F("Provider", STRING, "provider"),
        F("Cluster", STRING, "cluster"),
        F("Kind", STRING),
    ],
    "ServiceCheck": [
        F("Name", STRING, "name"),
        F("Type", STRING, "type"),
        F("Command", STRING, "command"),
        F("Args", STRINGS, "args"),
        F("Path", STRING, "path"),
        F("Protocol", STRING, "protocol"),
        F("PortLabel", STRING, "port"),
        F("Expose", BOOL, "expose"),
        F("AddressMode", STRING, "address_mode"),
        F("Advertise", STRING, "advertise"),
        F("Interval", DURATION, "interval"),
        F("Timeout", DURATION, "timeout"),
        F("InitialStatus", STRING, "initial_status"),
        F("Notes", STRING, "notes"),
        F("TLSServerName", STRING, "tls_server_name"),
        F("TLSSkipVerify", BOOL, "tls_skip_verify"),
        F("Header", MapOf(STRINGS), "header"),
        F("Method", STRING, "method"),
        F("CheckRestart", S("CheckRestart"), "check_restart"),
        F("GRPCService", STRING, "grpc_service"),
        F("GRPCUseTLS", BOOL, "grpc_use_tls"),
        F("TaskName", STRING, "task"),
        F("SuccessBeforePassing", INT, "success_before_passing"),
        F("FailuresBeforeCritical", INT, "failures_before_critical"),
        F("FailuresBeforeWarning", INT, "failures_before_warning"),
        F("Body", STRING, "body"),
        F("OnUpdate", STRING, "on_update"),
    ],
    "CheckRestart": [
        F("Limit", INT, "limit"),
        F("Grace", DURATION, "grace"),
        F("IgnoreWarnings", BOOL, "ignore_warnings"),
    ],
    "Template": [
        F("SourcePath", STRING, "source"),
        F("DestPath", STRING, "destination"),
        F("EmbeddedTmpl", STRING, "data"),
        F("ChangeMode", STRING, "change_mode"),
        F("ChangeScript", S("ChangeScript"), "change_script"),
        F("ChangeSignal", STRING, "change_signal"),
        F("Once", BOOL, "once"),
        F("Splay", DURATION, "splay"),
        F("Perms", STRING, "perms"),
        F("Uid", INT, "uid"),
        F("Gid", INT, "gid"),
        F("LeftDelim", STRING, "left_delimiter"),
        F("RightDelim", STRING, "right_delimiter"),
        F("Envvars", BOOL, "env"),
        F("VaultGrace", DURATION, "vault_grace"),
        F("Wait", S("WaitConfig"), "wait"),
        F("ErrMissingKey", BOOL, "error_on_missing_key"),
    ],
    "ChangeScript": [
        F("Command", STRING, "command"),
        F("Args", STRINGS, "args"),
        F("Timeout", DURATION, "timeout"),
        F("FailOnError", BOOL, "fail_on_error"),
        F("RunOnFirstRender", BOOL, "run_on_first_render"),
    ],
    "WaitConfig": [
        F("Min", DURATION, "min"),
        F("Max", DURATION, "max"),
    ],
    "Vault": [
        F("Policies", STRINGS, "policies"),
        F("Role", STRING, "role"),
        F("Namespace", STRING, "namespace"),
        F("Cluster", STRING, "cluster"),
        F("Env", BOOL, "env"),
        F("DisableFile", BOOL, "disable_file"),
        F("ChangeMode", STRING, "change_mode"),
        F("ChangeSignal", STRING, "change_signal"),
        F("AllowTokenExpiration", BOOL, "allow_token_expiration"),
    ],
    "WorkloadIdentity": [
        F("Name", STRING, "name"),
        F("Audience", STRINGS, "aud"),
        F("ChangeMode", STRING, "change_mode"),
        F("ChangeSignal", STRING, "change_signal"),
        F("Env", BOOL, "env"),
        F("File", BOOL, "file"),
        F("Filepath", STRING, "filepath"),
        F("ServiceName", STRING, "service_name"),
        F("TTL", DURATION, "ttl"),
        F("ExtraClaims", STRINGS, "extra_claims"),
    ],
    "RestartPolicy": [
        F("Interval", DURATION, "interval"),
        F("Attempts", INT, "attempts"),
        F("Delay", DURATION, "delay"),
        F("Mode", STRING, "mode"),
        F("RenderTemplates", BOOL, "render_templates"),
    ],
    "ReschedulePolicy": [
        F("Attempts", INT, "attempts"),
        F("Interval", DURATION, "interval"),
        F("Delay", DURATION, "delay"),
        F("DelayFunction", STRING, "delay_function"),
        F("MaxDelay", DURATION, "max_delay"),
        F("Unlimited", BOOL, "unlimited"),
    ],
    "UpdateStrategy": [
        F("Stagger", DURATION, "stagger"),
        F("MaxParallel", INT, "max_parallel"),
        F("HealthCheck", STRING, "health_check"),
        F("MinHealthyTime", DURATION, "min_healthy_time"),
        F("HealthyDeadline", DURATION, "healthy_deadline"),
        F("ProgressDeadline", DURATION, "progress_deadline"),
        F("Canary", INT, "canary"),
        F("AutoRevert", BOOL, "auto_revert"),
        F("AutoPromote", BOOL, "auto_promote"),
    ],
    "MigrateStrategy": [
        F("MaxParallel", INT, "max_parallel"),
        F("HealthCheck", STRING, "health_check"),
        F("MinHealthyTime", DURATION, "min_healthy_time"),
        F("HealthyDeadline", DURATION, "healthy_deadline"),
    ],
    "EphemeralDisk": [
        F("Sticky", BOOL, "sticky"),
        F("Migrate", BOOL, "migrate"),
        F("SizeMB", INT, "size"),
    ],
    "DisconnectStrategy": [
        F("LostAfter", DURATION, "lost_after"),
        F("StopOnClientAfter", DURATION, "stop_on_client_after"),
        F("Replace", BOOL, "replace"),
        F("Reconcile", STRING, "reconcile"),
    ],
    "PeriodicConfig": [
        F("Enabled", BOOL, "enabled"),
        F("Spec", STRING, "cron"),
        F("Specs", STRINGS, "crons"),
        F("SpecType", STRING),
        F("ProhibitOverlap", BOOL, "prohibit_overlap"),
        F("TimeZone", STRING, "time_zone"),
    ],
    "ParameterizedJobConfig": [
        F("Payload", STRING, "payload"),
        F("MetaRequired", STRINGS, "meta_required"),
        F("MetaOptional", STRINGS, "meta_optional"),
    ],
    "Constraint": [
        F("LTarget", STRING, "attribute"),
        F("RTarget", STRING, "value"),
        F("Operand", STRING, "operator"),
    ],
    "Affinity": [
        F("LTarget", STRING, "attribute"),
        F("RTarget", STRING, "value"),
        F("Operand", STRING, "operator"),
        F("Weight", INT8, "weight"),
    ],
    "Spread": [
        F("Attribute", STRING, "attribute"),
        F("Weight", INT8, "weight"),
        F("SpreadTarget", ListOf(ANY)),
    ],
    "LogConfig": [
        F("MaxFiles", INT, "max_files"),
        F("MaxFileSizeMB", INT, "max_file_size"),
        F("Enabled", BOOL, "enabled"),
        F("Disabled", BOOL, "disabled"),
    ],
    "TaskLifecycle": [
        F("Hook", STRING, "hook"),
        F("Sidecar", BOOL, "sidecar"),
    ],
    "TaskArtifact": [
        F("GetterSource", STRING, "source"),
        F("GetterOptions", STRING_MAP, "options"),
        F("GetterHeaders", STRING_MAP, "headers"),
        F("GetterMode", STRING, "mode"),
        F("GetterInsecure", BOOL, "insecure"),
        F("RelativeDest", STRING, "destination"),
        F("Chown", BOOL, "chown"),
    ],
    "DispatchPayloadConfig": [
        F("File", STRING, "file"),
    ],
    "JobUIConfig": [
        F("Description", STRING, "description"),
        F("Links", LS("JobUILink"), "link"),
    ],
    "JobUILink": [
        F("Label", STRING, "label"),
        F("URL", STRING, "url"),
    ],
    # Request bodies.
    "JobSubmission": [
        F("Source", STRING),
        F("Format", STRING),
        F("VariableFlags", STRING_MAP),
        F("Variables", STRING),
    ],
    "JobRegisterRequest": [
        F("Submission", S("JobSubmission")),
        F("Job", S("Job")),
        F("EnforceIndex", BOOL),
        F("JobModifyIndex", UINT64),
        F("PolicyOverride", BOOL),
        F("PreserveCounts", BOOL),
        F("PreserveResources", BOOL),
        F("EvalPriority", INT),
        F("Region", STRING),
        F("Namespace", STRING),
        F("SecretID", STRING),
        F("IdempotencyToken", STRING),
    ],
    "JobPlanRequest": [
        F("Job", S("Job")),
        F("Diff", BOOL),
        F("PolicyOverride", BOOL),
        F("Region", STRING),
        F("Namespace", STRING),
        F("SecretID", STRING),
    ],
    "JobValidateRequest": [
        F("Job", S("Job")),
        F("Region", STRING),
        F("Namespace", STRING),
        F("SecretID", STRING),
    ],
    "JobsParseRequest": [
        F("JobHCL", STRING),
        F("Variables", STRING),
        F("Canonicalize", BOOL),
    ],
    "JobDispatchRequest": [
        F("JobID", STRING),
        F("Payload", BYTES),
        F("Meta", STRING_MAP),
        F("IdPrefixTemplate", STRING),
        F("Priority", INT),
    ],
    "JobEvaluateRequest": [
        F("JobID", STRING),
        F("EvalOptions", ANY),
    ],
    "Namespace": [
        F("Name", STRING),
        F("Description", STRING),
        F("Quota", STRING),
        F("Capabilities", ANY),
        F("NodePoolConfiguration", ANY),
        F("VaultConfiguration", ANY),
        F("ConsulConfiguration", ANY),
        F("Meta", STRING_MAP),
    ],
    "Variable": [
        F("Namespace", STRING),
        F("Path", STRING),
        F("Items", STRING_MAP),
        F("Lock", ANY),
    ],
    "ACLPolicy": [
        F("Name", STRING),
        F("Description", STRING),
        F("Rules", STRING),
        F("JobACL", ANY),
    ],
    "ACLToken": [
        F("AccessorID", STRING),
        F("SecretID", STRING),
        F("Name", STRING),
        F("Type", STRING),
        F("Policies", STRINGS),
        F("Roles", ListOf(ANY)),
        F("Global", BOOL),
        F("ExpirationTime", ANY),
        F("ExpirationTTL", DURATION),
    ],
}
