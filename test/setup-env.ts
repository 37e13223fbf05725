// Tests build their configuration explicitly (test/helpers/test-app.ts); nothing from a developer's .env leaks in.
process.env.LATTICE_TEST = '1';
