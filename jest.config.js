/**
 * Jest runs TypeScript through ts-jest; every suite talks to real servers on loopback.
 *
 * content-disposition 3 (pulled in by @fastify/static, which serves the Swagger UI) ships only as an ES module,
 * which Node 20 can require but Jest's CommonJS runtime cannot, so that one package is compiled to CommonJS.
 */
module.exports = {
  rootDir: ".",
  testEnvironment: "node",
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }],
    "node_modules/content-disposition/.+\\.js$": [
      "ts-jest",
      {
        tsconfig: { allowJs: true, module: "commonjs", target: "ES2022" },
        isolatedModules: true,
      },
    ],
  },
  transformIgnorePatterns: ["/node_modules/(?!content-disposition/)"],
  testMatch: ["<rootDir>/src/**/*.spec.ts", "<rootDir>/test/**/*.test.ts"],
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 30000,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
