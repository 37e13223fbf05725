/** Client-server routes answer under v3 and under r0, which older clients still call. */
export const CLIENT_PREFIXES = ['_matrix/client/v3', '_matrix/client/r0'];
export const DENDRITE_ADMIN = '_dendrite/admin';
export const SYNAPSE_ADMIN_V1 = '_synapse/admin/v1';
export const LATTICE_ADMIN_V1 = '_lattice/admin/v1';
