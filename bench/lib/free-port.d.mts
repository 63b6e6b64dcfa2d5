/** See free-port.mjs: a free loopback port, below the kernel's ephemeral range when there is room. */
export function freePort(): Promise<number>;
