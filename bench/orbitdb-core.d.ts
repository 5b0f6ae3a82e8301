// Minimal types for @orbitdb/core (it ships none): only what bench/orbitdb-child.ts uses.
// (Not bench/orbitdb.d.ts: tsc would take that for the output of bench/orbitdb.ts and skip it.)
declare module '@orbitdb/core' {
  export interface OrbitEvents {
    on(event: 'update', listener: (entry: unknown) => void): void;
    on(event: 'error', listener: (error: unknown) => void): void;
    off(event: 'update', listener: (entry: unknown) => void): void;
    off(event: 'error', listener: (error: unknown) => void): void;
  }

  export interface OrbitSync {
    events: OrbitEvents;
  }

  export interface OrbitKeyValue {
    address: string;
    events: OrbitEvents;
    sync: OrbitSync;
    put(key: string, value: unknown): Promise<string>;
    get(key: string): Promise<unknown>;
    all(): Promise<Array<{ key: string; value: unknown; hash: string }>>;
    close(): Promise<void>;
  }

  export interface OrbitDB {
    id: string;
    open(address: string, options?: { type?: string }): Promise<OrbitKeyValue>;
    stop(): Promise<void>;
  }

  export function createOrbitDB(options: { ipfs: unknown; id?: string; directory?: string }): Promise<OrbitDB>;
}
