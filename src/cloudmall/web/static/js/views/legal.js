// The terms of use (#/terms) and the privacy policy (#/privacy), in Korean and English. Each
// document carries its version: sign-up records consent to the version the server names
// (settings CLOUDMALL_TERMS_VERSION / CLOUDMALL_PRIVACY_POLICY_VERSION), which must be this one.
// The texts are a demo shop's examples, not legal advice.

import { h, mount } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { pageTitle } from "../ui.js";

export const DOCUMENTS = {
  terms: {
    version: "2026-12-01",
    ko: [
      ["제1조 (목적)", "이 약관은 cloudmall(이하 ‘몰’)이 제공하는 온라인 쇼핑 서비스의 이용 조건과 절차, 몰과 회원의 권리·의무를 정합니다."],
      ["제2조 (회원가입)", "이용자는 이 약관과 개인정보 수집·이용에 동의하고 가입 양식을 작성하여 회원이 됩니다."],
      ["제3조 (주문과 결제)", "회원은 상품을 주문하고 몰이 정한 방법으로 결제합니다. 결제 전 주문은 회원이 취소할 수 있습니다."],
      ["제4조 (청약철회)", "회원은 「전자상거래 등에서의 소비자보호에 관한 법률」에 따라 상품을 받은 날부터 7일 이내에 청약을 철회할 수 있습니다."],
      ["제5조 (회원 탈퇴)", "회원은 언제든지 고객센터를 통해 탈퇴를 요청할 수 있으며, 몰은 지체 없이 처리합니다."],
      ["부칙", "이 약관은 예시용 데모 문서이며 2026년 12월 1일부터 적용합니다."],
    ],
    en: [
      ["Article 1 (Purpose)", "These terms set the conditions of cloudmall’s (the “Shop”) online shopping service and the rights and duties of the Shop and its members."],
      ["Article 2 (Membership)", "A visitor becomes a member by agreeing to these terms and to the collection and use of personal information, and completing the sign-up form."],
      ["Article 3 (Orders and payment)", "Members order products and pay by the means the Shop offers. An order not yet paid may be cancelled by the member."],
      ["Article 4 (Withdrawal)", "Under Korea’s Act on Consumer Protection in Electronic Commerce, members may withdraw an order within 7 days of receiving the goods."],
      ["Article 5 (Leaving)", "Members may ask customer service to close their account at any time; the Shop does so without delay."],
      ["Addendum", "These terms are a demo shop’s example and apply from 1 December 2026."],
    ],
  },
  privacy: {
    version: "2026-12-01",
    ko: [
      ["1. 수집하는 개인정보 항목", "필수: 이름, 이메일, 비밀번호(암호화하여 저장). 선택: 전화번호. 주문 시: 주문 내역, 결제 카드 끝 4자리."],
      ["2. 수집·이용 목적", "회원 식별과 로그인, 주문·결제·배송 처리, 고객 문의 응대."],
      ["3. 보유·이용 기간", "회원 탈퇴 시까지. 단, 관계 법령(전자상거래법)에 따라 계약·결제 기록은 5년, 소비자 불만 기록은 3년 보관합니다."],
      ["4. 동의를 거부할 권리", "개인정보 수집·이용에 동의하지 않을 수 있으나, 동의하지 않으면 회원가입을 할 수 없습니다."],
      ["5. 문의", "개인정보 관련 문의는 아래 고객센터로 연락해 주세요."],
      ["부칙", "이 방침은 예시용 데모 문서이며 2026년 12월 1일부터 적용합니다."],
    ],
    en: [
      ["1. What we collect", "Required: name, email, password (stored only as a hash). Optional: phone. With orders: the order history and the last 4 digits of the card."],
      ["2. Why", "To identify members and let them log in, to handle orders, payments and delivery, and to answer questions."],
      ["3. How long", "Until the member leaves; contract and payment records 5 years and complaint records 3 years, as Korea’s e-commerce act requires."],
      ["4. Your right to refuse", "You may refuse consent to this collection and use; without it, an account cannot be created."],
      ["5. Contact", "For questions about personal information, contact customer service below."],
      ["Addendum", "This policy is a demo shop’s example and applies from 1 December 2026."],
    ],
  },
};

function documentPage(ctx, name) {
  const doc = DOCUMENTS[name];
  const sections = doc[getLang()] || doc.ko;
  mount(
    ctx.main,
    h(
      "article",
      { class: "panel legal", id: `legal-${name}` },
      pageTitle(t(`legal.${name}.title`)),
      h("p", { class: "muted legal-version" }, t("legal.version", { version: doc.version })),
      sections.map(([heading, text]) => h("section", {}, h("h2", {}, heading), h("p", {}, text))),
    ),
  );
}

export function terms(ctx) {
  documentPage(ctx, "terms");
}

export function privacy(ctx) {
  documentPage(ctx, "privacy");
}
