/** The node software version and wire protocol version, reported in health and node documents. */
export const NODE_VERSION = '0.1.0';
export const PROTOCOL_VERSION = 'KP1';
