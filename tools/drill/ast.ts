// The syntax tree of a packetdrill script (see /work/shared/reference/packetdrill.md §1–§9).

/** Where something was written: 1-based line and column. */
export interface Loc { readonly line: number; readonly col: number }

/** An event's time. Values in microseconds. */
export type TimeSpec =
  | { readonly kind: 'abs'; readonly us: number }
  | { readonly kind: 'rel'; readonly us: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'range'; readonly rel: boolean; readonly lo: number; readonly hi: number };

export type Expr =
  | { readonly kind: 'ellipsis'; readonly loc: Loc }
  | { readonly kind: 'num'; readonly value: number; readonly loc: Loc }
  | { readonly kind: 'sym'; readonly name: string; readonly loc: Loc }
  | { readonly kind: 'str'; readonly value: string; readonly loc: Loc }
  | { readonly kind: 'or'; readonly left: Expr; readonly right: Expr; readonly loc: Loc }
  | { readonly kind: 'array'; readonly items: readonly Expr[]; readonly loc: Loc }
  | { readonly kind: 'struct'; readonly type: string | null; readonly fields: readonly StructField[]; readonly loc: Loc }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly loc: Loc };

export interface StructField { readonly name: string; readonly value: Expr }

export interface SyscallEvent {
  readonly kind: 'syscall';
  readonly name: string;
  readonly args: readonly Expr[];
  /** Expected return value. */
  readonly result: Expr;
  /** Expected errno name when the result is -1. */
  readonly errno: string | null;
  /** `T1...T2`: end time (absolute µs, or relative to the start when `rel`). */
  readonly end: { readonly rel: boolean; readonly us: number } | null;
}

export type TcpOption =
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly value: number }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'sack'; readonly blocks: readonly (readonly [number, number])[] }
  | { readonly kind: 'ts'; readonly val: number | null; readonly ecr: number | null; readonly ecrAbsolute: boolean }
  /** `FO [hex]` (kind 34) / `FOEXP [hex]` (kind 254, magic 0xF989): an empty cookie is a request. */
  | { readonly kind: 'fo'; readonly cookie: Uint8Array; readonly exp: boolean }
  | { readonly kind: 'unsupported'; readonly name: string };

export interface IpInfo {
  tos?: number; ttl?: number; tclass?: number; hlim?: number; flowlabel?: number;
  /** [noecn] [ect0] [ect1] [ce] [ect01] */
  ecn?: 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';
}

export interface TcpSpec {
  readonly proto: 'tcp';
  /** TH_* bits. */
  readonly flags: number;
  readonly flagText: string;
  /** null: `...(len)`, sequence unchecked. */
  readonly start: number | null;
  readonly len: number;
  readonly absolute: boolean;
  readonly ack: number | null;
  readonly win: number | null;
  readonly urg: number | null;
  /** null: `<...>` (unchecked); [] when no option list was written. */
  readonly options: readonly TcpOption[] | null;
}

export interface UdpSpec { readonly proto: 'udp'; readonly len: number }

export interface IcmpSpec {
  readonly proto: 'icmp';
  readonly type: string;
  readonly code: string | null;
  readonly mtu: number | null;
  /** The quoted segment: TCP `[start:end(len)]` or `[udp (N)]`. */
  readonly quoted: { readonly proto: 'tcp'; readonly start: number; readonly len: number } | { readonly proto: 'udp'; readonly len: number } | null;
}

export interface PacketEvent {
  readonly kind: 'packet';
  readonly dir: 'in' | 'out';
  readonly ip: IpInfo;
  readonly spec: TcpSpec | UdpSpec | IcmpSpec;
  /** Source text of the packet (for messages). */
  readonly text: string;
  /**
   * Explicit addressing (reference §6/§11): `< addr[caddrR] > addr[saddrL]` inbound, `> addr[saddrL] >
   * addr[caddrR]` outbound, as indexes of the remote and local address (0 = the default pair). Null
   * when the packet carries no prefix (it belongs to the most recently addressed connection).
   */
  readonly addr: { readonly remote: number; readonly local: number } | null;
  /** Set when the packet uses a feature the runner does not support (MPTCP options, md5...). */
  readonly unsupported: string | null;
}

export interface CommandEvent { readonly kind: 'command'; readonly command: string }
export interface CodeEvent { readonly kind: 'code'; readonly code: string }

export type Action = SyscallEvent | PacketEvent | CommandEvent | CodeEvent;

export interface DrillEvent {
  readonly time: TimeSpec;
  readonly action: Action;
  readonly loc: Loc;
  /** The event's source text, whitespace-collapsed. */
  readonly text: string;
}

export interface HeaderOption { readonly name: string; readonly value: string | null; readonly loc: Loc }

export interface Script {
  readonly options: readonly HeaderOption[];
  readonly events: readonly DrillEvent[];
}
