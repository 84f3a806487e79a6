/**
 * Agent heartbeats: every paired agent reports, once in a while, what it
 * knows of itself (agent version, per destination the buffer depth, the age
 * of its oldest unsent record, the link state and the last error; per camera
 * its state, ring depth, oldest unsent fragment and restarts; whether its
 * disk is full), with `Tributary_20261125.PutHeartbeat`, signed with its
 * own keys. The gateway keeps the last one per principal, in memory, with
 * the time it arrived ("last seen"); `ListHeartbeats` gives them to the web
 * console's Devices view. A gateway restart forgets them until each agent's
 * next heartbeat (`heartbeatIntervalMs` in agent/heartbeat.ts).
 *
 * One entry per principal name, and only active principals can call, so the
 * map is bounded by the principal store.
 */
import type { Caller } from '../http/server.ts';
import type { StructureShape } from '../http/validate.ts';

/** Destinations per heartbeat: more than an agent config holds in practice. */
export const heartbeatDestinationsMax = 64;
/** Cameras per heartbeat: more than a device drives in practice. */
export const heartbeatCamerasMax = 16;
export const heartbeatErrorLengthMax = 1024;

export interface Heartbeat {
  Name: string;
  AccessKeyId: string;
  /** When the gateway received it. */
  ReceivedAt: Date;
  AgentVersion: string;
  DiskLow: boolean;
  Destinations: Array<{ Name: string; Stream: string; BufferRecords: number; BufferBytes: number; OldestUnsentAgeMs?: number; Link: string; LastError?: string }>;
  Cameras?: Array<{ Name: string; Stream: string; State: string; BufferFragments: number; BufferBytes: number; OldestUnsentAgeMs?: number; Restarts: number }>;
}

const str = (max: number, required = true) => ({ type: 'string', required, min: 1, max }) as const;
const count = { type: 'long', required: true, min: 0 } as const;

const putShape: StructureShape = {
  type: 'structure',
  members: {
    AgentVersion: str(32),
    DiskLow: { type: 'boolean' },
    Destinations: {
      type: 'list', required: true, max: heartbeatDestinationsMax,
      member: {
        type: 'structure',
        members: {
          Name: str(128), Stream: str(256), BufferRecords: count, BufferBytes: count,
          OldestUnsentAgeMs: { type: 'long', min: 0 }, Link: str(32), LastError: { type: 'string', max: heartbeatErrorLengthMax },
        },
      },
    },
    Cameras: {
      type: 'list', max: heartbeatCamerasMax,
      member: {
        type: 'structure',
        members: {
          Name: str(128), Stream: str(256), State: str(32), BufferFragments: count, BufferBytes: count, OldestUnsentAgeMs: { type: 'long', min: 0 }, Restarts: count,
        },
      },
    },
  },
};

type Action = { shape: StructureShape; handle(input: Record<string, unknown>, caller: Caller): unknown };

export class HeartbeatStore {
  private readonly last = new Map<string, Heartbeat>();
  constructor(private readonly now: () => number = Date.now) {}

  put(caller: Caller, input: Record<string, unknown>): void {
    this.last.set(caller.name, {
      Name: caller.name,
      AccessKeyId: caller.accessKeyId,
      ReceivedAt: new Date(this.now()),
      AgentVersion: input.AgentVersion as string,
      DiskLow: (input.DiskLow as boolean | undefined) ?? false,
      Destinations: input.Destinations as Heartbeat['Destinations'],
      ...(input.Cameras ? { Cameras: input.Cameras as Heartbeat['Cameras'] } : {}),
    });
  }

  list(): Heartbeat[] {
    return [...this.last.values()];
  }
}

/** `PutHeartbeat` (the caller's own) and `ListHeartbeats`, for the admin service. */
export function heartbeatActions(store: HeartbeatStore): Record<string, Action> {
  return {
    PutHeartbeat: {
      shape: putShape,
      handle(input, caller) {
        store.put(caller, input);
        return {};
      },
    },
    ListHeartbeats: {
      shape: { type: 'structure', members: {} },
      handle: () => ({ Heartbeats: store.list() }),
    },
  };
}
