/**
 * A typed Fleet API client on @grpc/grpc-js: one method per Fleet RPC, each call signed (auth.ts), each with a deadline,
 * every gRPC failure turned into an FlError ('FL_TRANSPORT' with the status code, or 'FL_TIMEOUT').
 *
 * The largest thing a well-behaved SuperLink sends in one response is one array chunk (5 MiB + head), so the channel's
 * receive limit is set a little above that: a hostile or broken SuperLink cannot make the agent buffer more per call.
 * TLS uses the given root CA (PEM) or the system roots; `insecure` is plain text, for tests and local trials only.
 */
import * as grpc from '@grpc/grpc-js';
import { FlError } from './errors.js';
import { authEntries, PUBLIC_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, type NodeKey } from './auth.js';
import { decode, encode, FLEET_METHODS, FLEET_SERVICE, u64, type FleetMethod } from './proto.js';
import { MAX_ARRAY_CHUNK_BYTES, treeFromProto, type ObjectTree } from './objects.js';
import { metadataToProto, type Metadata } from './records.js';

export interface FleetClientOptions {
  /** host:port of the SuperLink's Fleet API (Flower's default port is 9092). */
  address: string;
  key: NodeKey;
  /** PEM root certificate(s) for TLS. */
  rootCa?: Uint8Array;
  /** Plain-text gRPC (no TLS). */
  insecure?: boolean;
  /** Deadline per call (default 30 s). */
  callTimeoutMs?: number;
  /** Largest response accepted (default: one array chunk + 1 MiB). */
  maxMessageBytes?: number;
}

export interface PulledMessage {
  /** The message as the SuperLink lists it (metadata; content arrives as objects). */
  metadata: Metadata;
  tree: ObjectTree;
}

const identity = (b: Buffer) => b;

export class FleetClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: FleetClientOptions) {
    const creds = opts.insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(opts.rootCa ? Buffer.from(opts.rootCa) : null);
    const max = opts.maxMessageBytes ?? MAX_ARRAY_CHUNK_BYTES + 1024 * 1024;
    this.client = new grpc.Client(opts.address, creds, {
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      // reconnect quickly after a SuperLink restart; the agent has its own backoff on top
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
    this.timeoutMs = opts.callTimeoutMs ?? 30_000;
  }

  get address(): string {
    return this.opts.address;
  }

  /** One signed unary call; the response decoded to a plain object (see proto.decode). */
  call(method: FleetMethod, request: Record<string, unknown>, timeoutMs = this.timeoutMs): Promise<Record<string, any>> {
    if (this.closed) return Promise.reject(new FlError('FL_TRANSPORT', 'client closed'));
    const [reqType, resType] = FLEET_METHODS[method];
    const body = Buffer.from(encode(reqType, request));
    const md = new grpc.Metadata();
    const a = authEntries(this.opts.key);
    md.set(PUBLIC_KEY_HEADER, a.publicKey);
    md.set(TIMESTAMP_HEADER, a.timestamp);
    md.set(SIGNATURE_HEADER, a.signature);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        `/${FLEET_SERVICE}/${method}`, identity, identity, body, md, { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) {
            const code = err.code === grpc.status.DEADLINE_EXCEEDED ? 'FL_TIMEOUT' : 'FL_TRANSPORT';
            reject(Object.assign(new FlError(code, `${method}: ${grpc.status[err.code] ?? err.code} ${err.details ?? ''}`.trim(), { cause: err }), { grpcCode: err.code }));
            return;
          }
          try {
            resolve(decode(resType, res ?? Buffer.alloc(0)));
          } catch (e) {
            reject(new FlError('FL_BAD_MESSAGE', `${method}: response is not a valid ${resType}`, { cause: e }));
          }
        },
      );
    });
  }

  async registerNode(): Promise<void> {
    await this.call('RegisterNode', { public_key: this.opts.key.publicKeyPem });
  }

  async activateNode(heartbeatInterval: number): Promise<bigint> {
    const r = await this.call('ActivateNode', { public_key: this.opts.key.publicKeyPem, heartbeat_interval: heartbeatInterval });
    const id = u64(r.node_id);
    if (id === 0n) throw new FlError('FL_BAD_MESSAGE', 'ActivateNode returned node id 0');
    return id;
  }

  async deactivateNode(nodeId: bigint): Promise<void> {
    await this.call('DeactivateNode', { node_id: nodeId }, 5000);
  }

  async unregisterNode(nodeId: bigint): Promise<void> {
    await this.call('UnregisterNode', { node_id: nodeId }, 5000);
  }

  async heartbeat(nodeId: bigint, interval: number): Promise<boolean> {
    const r = await this.call('SendNodeHeartbeat', { node: { node_id: nodeId }, heartbeat_interval: interval }, 5000);
    return r.success === true;
  }

  async pullMessages(nodeId: bigint): Promise<PulledMessage[]> {
    const r = await this.call('PullMessages', { node: { node_id: nodeId } });
    const msgs = (r.messages_list ?? []) as Record<string, any>[];
    const trees = (r.message_object_trees ?? []) as unknown[];
    if (msgs.length !== trees.length) throw new FlError('FL_BAD_MESSAGE', `PullMessages: ${msgs.length} messages but ${trees.length} object trees`);
    return msgs.map((m, i) => {
      const md = m.metadata ?? {};
      return {
        metadata: {
          run_id: u64(md.run_id), message_id: String(md.message_id ?? ''), src_node_id: u64(md.src_node_id), dst_node_id: u64(md.dst_node_id),
          reply_to_message_id: String(md.reply_to_message_id ?? ''), group_id: String(md.group_id ?? ''), ttl: Number(md.ttl ?? 0),
          message_type: String(md.message_type ?? ''), created_at: Number(md.created_at ?? 0),
        },
        tree: treeFromProto(trees[i]),
      };
    });
  }

  async pullObject(nodeId: bigint, runId: bigint, objectId: string): Promise<{ found: boolean; available: boolean; content: Uint8Array }> {
    const r = await this.call('PullObject', { node: { node_id: nodeId }, run_id: runId, object_id: objectId });
    return { found: r.object_found === true, available: r.object_available === true, content: r.object_content ?? new Uint8Array() };
  }

  async confirmMessageReceived(nodeId: bigint, runId: bigint, messageId: string): Promise<void> {
    await this.call('ConfirmMessageReceived', { node: { node_id: nodeId }, run_id: runId, message_object_id: messageId });
  }

  /** Announce a reply (metadata + tree, content travels as objects); returns the ids the SuperLink still needs. */
  async pushMessage(nodeId: bigint, metadata: Metadata, hasError: { code: bigint; reason: string } | null, tree: ObjectTree, runtimeS: number): Promise<string[]> {
    const message = hasError
      ? { metadata: metadataToProto(metadata), error: hasError }
      : { metadata: metadataToProto(metadata), content: { items: [] } };
    const r = await this.call('PushMessages', { node: { node_id: nodeId }, messages_list: [message], message_object_trees: [tree], clientapp_runtime_list: [runtimeS] });
    return ((r.objects_to_push ?? []) as unknown[]).map(String);
  }

  async pushObject(nodeId: bigint, runId: bigint, objectId: string, content: Uint8Array): Promise<boolean> {
    const r = await this.call('PushObject', { node: { node_id: nodeId }, run_id: runId, object_id: objectId, object_content: content });
    return r.stored === true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
