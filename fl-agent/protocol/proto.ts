/**
 * Protobuf definitions of the part of Flower's Fleet API (Flower 1.23–1.27, package `flwr.proto`) that the agent
 * speaks, written for this project from the protocol's documented field names and numbers (not copied from Flower).
 *
 * Field names are kept exactly as written (`keepCase: true`): protobufjs would otherwise camelCase them and silently
 * drop fields whose names do not match. 64-bit integers (node and run ids are random uint64) are carried as decimal
 * strings at the edges of this module and as bigint everywhere else, never as JS numbers (they would lose precision).
 */
import protobuf from 'protobufjs';

const FLEET_PROTO = `
syntax = "proto3";
package flwr.proto;

message Node { uint64 node_id = 1; }

message Error { sint64 code = 1; string reason = 2; }

message DoubleList { repeated double vals = 1; }
message SintList { repeated sint64 vals = 1; }
message UintList { repeated uint64 vals = 1; }
message BoolList { repeated bool vals = 1; }
message StringList { repeated string vals = 1; }
message BytesList { repeated bytes vals = 1; }

message Array { string dtype = 1; repeated int32 shape = 2; string stype = 3; bytes data = 4; }

message MetricRecordValue {
  oneof value {
    double double = 1; sint64 sint64 = 2; uint64 uint64 = 3;
    DoubleList double_list = 21; SintList sint_list = 22; UintList uint_list = 23;
  }
}
message ConfigRecordValue {
  oneof value {
    double double = 1; sint64 sint64 = 2; uint64 uint64 = 3; bool bool = 4; string string = 5; bytes bytes = 6;
    DoubleList double_list = 21; SintList sint_list = 22; UintList uint_list = 23; BoolList bool_list = 24;
    StringList string_list = 25; BytesList bytes_list = 26;
  }
}
message ArrayRecord { message Item { string key = 1; Array value = 2; } repeated Item items = 1; }
message MetricRecord { message Item { string key = 1; MetricRecordValue value = 2; } repeated Item items = 1; }
message ConfigRecord { message Item { string key = 1; ConfigRecordValue value = 2; } repeated Item items = 1; }
message RecordDict {
  message Item {
    string key = 1;
    oneof value { ArrayRecord array_record = 2; MetricRecord metric_record = 3; ConfigRecord config_record = 4; }
  }
  repeated Item items = 1;
}

message Metadata {
  uint64 run_id = 1; string message_id = 2; uint64 src_node_id = 3; uint64 dst_node_id = 4;
  string reply_to_message_id = 5; string group_id = 6; double ttl = 7; string message_type = 8; double created_at = 9;
}
message Message { Metadata metadata = 1; RecordDict content = 2; Error error = 3; }
message ObjectTree { string object_id = 1; repeated ObjectTree children = 2; }

message RegisterNodeFleetRequest { bytes public_key = 1; }
message RegisterNodeFleetResponse { uint64 node_id = 1; }
message ActivateNodeRequest { bytes public_key = 1; double heartbeat_interval = 2; }
message ActivateNodeResponse { uint64 node_id = 1; }
message DeactivateNodeRequest { uint64 node_id = 1; }
message DeactivateNodeResponse {}
message UnregisterNodeFleetRequest { uint64 node_id = 1; }
message UnregisterNodeFleetResponse {}
message SendNodeHeartbeatRequest { Node node = 1; double heartbeat_interval = 2; }
message SendNodeHeartbeatResponse { bool success = 1; }

message Reconnect { uint64 reconnect = 1; }
message PullMessagesRequest { Node node = 1; repeated string message_ids = 2; }
message PullMessagesResponse { Reconnect reconnect = 1; repeated Message messages_list = 2; repeated ObjectTree message_object_trees = 3; }
message PushMessagesRequest {
  Node node = 1; repeated Message messages_list = 2; repeated ObjectTree message_object_trees = 3;
  repeated double clientapp_runtime_list = 4;
}
message PushMessagesResponse { Reconnect reconnect = 1; map<string, uint32> results = 2; repeated string objects_to_push = 3; }

message PushObjectRequest { Node node = 1; uint64 run_id = 2; string object_id = 3; bytes object_content = 4; }
message PushObjectResponse { bool stored = 1; }
message PullObjectRequest { Node node = 1; uint64 run_id = 2; string object_id = 3; }
message PullObjectResponse { bool object_found = 1; bool object_available = 2; bytes object_content = 3; }
message ConfirmMessageReceivedRequest { Node node = 1; uint64 run_id = 2; string message_object_id = 3; }
message ConfirmMessageReceivedResponse {}
`;

export const root = protobuf.parse(FLEET_PROTO, { keepCase: true }).root;

const T = (name: string) => root.lookupType(`flwr.proto.${name}`);

/** Message types by short name. */
export const types = {
  Node: T('Node'),
  Error: T('Error'),
  Metadata: T('Metadata'),
  Message: T('Message'),
  ObjectTree: T('ObjectTree'),
  RecordDict: T('RecordDict'),
  ArrayRecord: T('ArrayRecord'),
  MetricRecord: T('MetricRecord'),
  ConfigRecord: T('ConfigRecord'),
  RegisterNodeFleetRequest: T('RegisterNodeFleetRequest'),
  RegisterNodeFleetResponse: T('RegisterNodeFleetResponse'),
  ActivateNodeRequest: T('ActivateNodeRequest'),
  ActivateNodeResponse: T('ActivateNodeResponse'),
  DeactivateNodeRequest: T('DeactivateNodeRequest'),
  DeactivateNodeResponse: T('DeactivateNodeResponse'),
  UnregisterNodeFleetRequest: T('UnregisterNodeFleetRequest'),
  UnregisterNodeFleetResponse: T('UnregisterNodeFleetResponse'),
  SendNodeHeartbeatRequest: T('SendNodeHeartbeatRequest'),
  SendNodeHeartbeatResponse: T('SendNodeHeartbeatResponse'),
  PullMessagesRequest: T('PullMessagesRequest'),
  PullMessagesResponse: T('PullMessagesResponse'),
  PushMessagesRequest: T('PushMessagesRequest'),
  PushMessagesResponse: T('PushMessagesResponse'),
  PushObjectRequest: T('PushObjectRequest'),
  PushObjectResponse: T('PushObjectResponse'),
  PullObjectRequest: T('PullObjectRequest'),
  PullObjectResponse: T('PullObjectResponse'),
  ConfirmMessageReceivedRequest: T('ConfirmMessageReceivedRequest'),
  ConfirmMessageReceivedResponse: T('ConfirmMessageReceivedResponse'),
} as const;

export type TypeName = keyof typeof types;

/** The Fleet service's unary methods: request and response type names. */
export const FLEET_METHODS = {
  RegisterNode: ['RegisterNodeFleetRequest', 'RegisterNodeFleetResponse'],
  ActivateNode: ['ActivateNodeRequest', 'ActivateNodeResponse'],
  DeactivateNode: ['DeactivateNodeRequest', 'DeactivateNodeResponse'],
  UnregisterNode: ['UnregisterNodeFleetRequest', 'UnregisterNodeFleetResponse'],
  SendNodeHeartbeat: ['SendNodeHeartbeatRequest', 'SendNodeHeartbeatResponse'],
  PullMessages: ['PullMessagesRequest', 'PullMessagesResponse'],
  PushMessages: ['PushMessagesRequest', 'PushMessagesResponse'],
  PushObject: ['PushObjectRequest', 'PushObjectResponse'],
  PullObject: ['PullObjectRequest', 'PullObjectResponse'],
  ConfirmMessageReceived: ['ConfirmMessageReceivedRequest', 'ConfirmMessageReceivedResponse'],
} as const satisfies Record<string, readonly [TypeName, TypeName]>;

export type FleetMethod = keyof typeof FLEET_METHODS;
export const FLEET_SERVICE = 'flwr.proto.Fleet';

/**
 * Plain object → bytes. 64-bit fields may be given as bigint, decimal string or number; undefined fields are left
 * out. (A field given as its default value is written, which every proto3 parser reads back the same.)
 */
export function encode(name: TypeName, value: Record<string, unknown>): Uint8Array {
  const t = types[name];
  const msg = t.fromObject(prepare(value) as Record<string, unknown>);
  return t.encode(msg).finish();
}

/**
 * Bytes → plain object with defaults filled in: 64-bit integers as decimal strings, bytes as Uint8Array, oneofs
 * named by a `value` virtual field. Throws on malformed input (the caller maps it to a typed error).
 */
export function decode(name: TypeName, bytes: Uint8Array): Record<string, any> {
  const t = types[name];
  return t.toObject(t.decode(bytes), { longs: String, defaults: true, arrays: true, objects: true, oneofs: true }) as Record<string, any>;
}

function prepare(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(prepare);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || x === null) continue;
      out[k] = prepare(x);
    }
    return out;
  }
  return v;
}

/** A uint64 field from decode() (decimal string) → bigint; anything else → 0n is refused by the caller. */
export function u64(v: unknown): bigint {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return 0n;
}
