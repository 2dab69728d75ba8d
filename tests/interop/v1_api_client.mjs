// The real @elizaos/api-client 1.7.2 (npm) against `teeliza start`: every
// call a v1 user makes to chat with an agent, each answer checked against
// the shape the client's types promise (dist/api-client/src/types/*.d.ts).
// Run by v1_api_client.test.sh:
//   node v1_api_client.mjs BASE_URL API_TOKEN CHARACTER_FILE OPERATOR_AGENT_ID
// Prints "ok: ..." per check; exits 1 at the first failure.
import { ElizaClient, ApiError } from "@elizaos/api-client";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

const [base, token, characterFile, operatorId] = process.argv.slice(2);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const client = ElizaClient.create({ baseUrl: base, apiKey: token, timeout: 60000 });

function check(what, cond, got) {
  if (!cond) {
    console.error(`FAIL: ${what}: got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}
async function rejects(what, p, status, code, messageStart = "") {
  try {
    const got = await p;
    check(what, false, got);
  } catch (e) {
    check(what, e instanceof ApiError && e.status === status && e.code === code && typeof e.message === "string" &&
      e.message.startsWith(messageStart),
      { name: e.name, status: e.status, code: e.code, message: e.message });
  }
}
// The 0.1.x route beside it, for the answers both generations must share.
async function v01Message(agentId, text) {
  const r = await fetch(`${base}/${agentId}/message`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text, userId: "v01-user", roomId: "v01-room" }),
  });
  return r.json();
}

// agents.listAgents(): {agents: Agent[]}
let { agents } = await client.agents.listAgents();
check("listAgents: {agents: Agent[]} with the operator's agent active", Array.isArray(agents) &&
  agents.some((a) => a.id === operatorId && a.status === "active" && typeof a.name === "string"), agents);

// agents.createAgent({characterJson}): Agent, created stopped
const character = JSON.parse(readFileSync(characterFile, "utf8"));
const created = await client.agents.createAgent({ characterJson: character });
check("createAgent: an Agent with a UUID id, its name, inactive", UUID.test(created.id) &&
  created.name === character.name && created.status === "inactive" && typeof created.createdAt === "number" &&
  typeof created.updatedAt === "number", created);
check("createAgent: no secrets come back", created.secrets === undefined &&
  (created.settings === undefined || created.settings.secrets === undefined), created.settings);
const id = created.id;
({ agents } = await client.agents.listAgents());
check("listAgents: the new agent, inactive", agents.some((a) => a.id === id && a.status === "inactive"), agents);

// agents.startAgent / getAgent
const started = await client.agents.startAgent(id);
check("startAgent: {status: 'active'}", started.status === "active", started);
const agent = await client.agents.getAgent(id);
check("getAgent: Agent, active, enabled", agent.id === id && agent.status === "active" && agent.enabled === true &&
  agent.name === character.name && Array.isArray(agent.bio) === Array.isArray(character.bio), agent);

// agents.updateAgent(id, {bio}): Agent
const updated = await client.agents.updateAgent(id, { bio: ["Updated over the v1 API."] });
check("updateAgent: the Agent with the new bio, still active", updated.id === id &&
  JSON.stringify(updated.bio) === JSON.stringify(["Updated over the v1 API."]) && updated.status === "active", updated);

// sessions.createSession: CreateSessionResponse
const userId = randomUUID();
const session = await client.sessions.createSession({ agentId: id, userId, metadata: { platform: "interop" } });
check("createSession: {sessionId, agentId, userId, createdAt, metadata}", UUID.test(session.sessionId) &&
  session.agentId === id && session.userId === userId && ISO.test(session.createdAt) &&
  session.metadata.platform === "interop", session);
const info = await client.sessions.getSession(session.sessionId);
check("getSession: SessionInfoResponse", info.sessionId === session.sessionId && info.agentId === id &&
  ISO.test(info.lastActivity) && UUID.test(info.channelId), info);
const health = await client.sessions.checkHealth();
check("sessions.checkHealth: healthy", health.status === "healthy" && typeof health.activeSessions === "number" &&
  typeof health.timestamp === "string", health);

// sessions.sendMessageSync: MessageResponse with agentResponse
const r1 = await client.sessions.sendMessageSync(session.sessionId, { content: "hello, who are you?" });
check("sendMessageSync: MessageResponse {success, userMessage, agentResponse, sessionStatus}", r1 !== undefined &&
  r1.success === true && r1.userMessage.content === "hello, who are you?" && UUID.test(r1.userMessage.id) &&
  r1.userMessage.authorId === userId && ISO.test(r1.userMessage.createdAt) &&
  typeof r1.agentResponse.text === "string" && r1.agentResponse.text.length > 0 &&
  Array.isArray(r1.agentResponse.actions) && typeof r1.sessionStatus.renewalCount === "number" &&
  ISO.test(r1.sessionStatus.expiresAt), r1);

// The wallet answer over v1, identical to the 0.1.x route's
const walletQuestion = "what's your wallet address?";
const r2 = await client.sessions.sendMessage(session.sessionId, { content: walletQuestion, transport: "http" });
const walletText = r2.agentResponse.text;
check("sendMessage (http): the wallet answer names a Solana and an EVM address",
  /Solana/.test(walletText) && /0x[0-9a-fA-F]{40}/.test(walletText), walletText);
const v01 = await v01Message(id, walletQuestion);
check("the wallet answer is identical on the 0.1.x route", Array.isArray(v01) &&
  v01[v01.length - 1].text === walletText, { v1: walletText, v01 });

// Receipts on v1 replies (raw fetch: the client does not show headers)
const raw = await fetch(`${base}/api/messaging/sessions/${session.sessionId}/messages`, {
  method: "POST",
  headers: { "Content-Type": "application/json", "X-API-KEY": token },
  body: JSON.stringify({ content: "one more", transport: "http" }),
});
const receiptId = raw.headers.get("x-teeliza-receipt");
check("a v1 reply carries X-Teeliza-Receipt", raw.status === 201 && /^[0-9a-f]{64}$/.test(receiptId ?? ""),
  { status: raw.status, receiptId });
const receipt = await fetch(`${base}/agents/${id}/receipts/${receiptId}`, { headers: { Authorization: `Bearer ${token}` } });
check("its receipt is served like a 0.1.x reply's", receipt.status === 200 && (await receipt.json()).id === receiptId,
  receipt.status);

// sessions.sendMessage default transport (websocket): answered at once, the reply stored for polling
const r3 = await client.sessions.sendMessage(session.sessionId, { content: "and the default transport?" });
check("sendMessage (websocket): MessageResponse without agentResponse", r3.success === true &&
  r3.agentResponse === undefined && r3.userMessage.content === "and the default transport?", r3);

// sessions.getMessages: {messages: SimplifiedMessage[], hasMore}
const page = await client.sessions.getMessages(session.sessionId, { limit: 20 });
check("getMessages: {messages, hasMore}, the agent's replies marked isAgent", Array.isArray(page.messages) &&
  typeof page.hasMore === "boolean" && page.messages.length >= 8 &&
  page.messages.filter((m) => m.isAgent).length >= 4 &&
  page.messages.every((m) => UUID.test(m.id) && typeof m.content === "string" && ISO.test(m.createdAt) &&
    typeof m.metadata === "object") &&
  page.messages.some((m) => m.isAgent && m.content === walletText), page);
const { sessions, total } = await client.sessions.listSessions();
check("listSessions: {sessions, total}", Array.isArray(sessions) && total >= 1 &&
  sessions.some((s) => s.sessionId === session.sessionId), { sessions, total });

// messaging: a channel's messages, and a post to it
const { messages } = await client.messaging.getChannelMessages(info.channelId, { limit: 5 });
check("getChannelMessages: {messages: Message[]}", messages.length === 5 &&
  messages.every((m) => m.channelId === info.channelId && UUID.test(m.authorId) && typeof m.content === "string"),
  messages);
const posted = await client.messaging.postMessage(info.channelId, "posted to the channel", { source: "interop" });
check("postMessage: a Message in the channel", UUID.test(posted.id) && posted.channelId === info.channelId &&
  posted.content === "posted to the channel", posted);

// memory.getAgentMemories: {memories: Memory[]}
const { memories } = await client.memory.getAgentMemories(id);
check("getAgentMemories: the conversation, as Memory objects", Array.isArray(memories) && memories.length >= 10 &&
  memories.every((m) => UUID.test(m.id) && m.agentId === id && typeof m.type === "string" &&
    typeof m.content === "object") &&
  memories.some((m) => m.content.text === walletQuestion) && memories.some((m) => m.content.text === walletText),
  memories.length);
const room = await client.memory.getRoomMemories(id, info.channelId, { limit: 3 });
check("getRoomMemories: {memories}", room.memories.length === 3, room);

// agents.getAgentLogs: AgentLog[]
const logs = await client.agents.getAgentLogs(id);
check("getAgentLogs: AgentLog[]", Array.isArray(logs) && logs.length > 0 &&
  logs.every((l) => typeof l.type === "string" && typeof l.createdAt === "number"), logs.slice(0, 2));

// errors as ApiError with v1's status and code
await rejects("getAgent(unknown): ApiError 404 NOT_FOUND", client.agents.getAgent(randomUUID()), 404, "NOT_FOUND");
// {name} alone is a 0.1.x file's shape, but on /api it gets 1.x's verdict (bio is required there)
await rejects("createAgent(invalid): ApiError 400 CREATE_ERROR in 1.x's words",
  client.agents.createAgent({ characterJson: { name: "x" } }), 400, "CREATE_ERROR",
  "Character validation failed: bio: Invalid input");
await rejects("getSession(unknown): ApiError 404 SESSION_NOT_FOUND", client.sessions.getSession(randomUUID()), 404,
  "SESSION_NOT_FOUND");
await rejects("sendMessage(4001 characters): ApiError 400 VALIDATION_ERROR",
  client.sessions.sendMessage(session.sessionId, { content: "a".repeat(4001), transport: "http" }), 400,
  "VALIDATION_ERROR");
const wrongKey = ElizaClient.create({ baseUrl: base, apiKey: "not-the-token" });
await rejects("a wrong X-API-KEY: ApiError 401", wrongKey.agents.listAgents(), 401, "UNAUTHORIZED");

// sessions.deleteSession, agents.stopAgent, agents.deleteAgent
const del = await client.sessions.deleteSession(session.sessionId);
check("deleteSession: {success: true}", del !== undefined && del.success === true, del);
const stopped = await client.agents.stopAgent(id);
check("stopAgent: {status: 'inactive'}", stopped.status === "inactive", stopped);
check("getAgent after stop: inactive", (await client.agents.getAgent(id)).status === "inactive", null);
const gone = await client.agents.deleteAgent(id);
check("deleteAgent: {success: true}", gone.success === true, gone);
({ agents } = await client.agents.listAgents());
check("listAgents: the deleted agent is gone, the operator's stays", !agents.some((a) => a.id === id) &&
  agents.some((a) => a.id === operatorId), agents);
console.log("all v1 api-client checks passed");
